## supervisord of the cluster (`python -m bot cluster start`, bot/cluster.py): every process
## of the cluster, restarted when it dies. A Mako template rendered into
## CLUSTER_DIR/supervisord.conf at every start. No program starts by itself: the cluster
## starts them in order (stores, migrations, action servers, Rasa servers, nginx) and
## `python -m bot cluster stop` shuts supervisord down, which stops them in reverse order.
## Settings and secrets reach the programs through supervisord's environment, not this file.
; Rendered by `python -m bot cluster start` from deploy/cluster/supervisord.conf.mako.
[unix_http_server]
file=${cluster_dir}/supervisor.sock
chmod=0700

[supervisord]
logfile=${log_dir}/supervisord.log
pidfile=${cluster_dir}/supervisord.pid
childlogdir=${log_dir}
directory=${project_root}
% if as_root:
user=root
% endif

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://${cluster_dir}/supervisor.sock

[program:postgres]
command=${postgres} -D ${postgres_data} -p ${postgres_port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''
% if as_root:
user=postgres
% endif
autostart=false
autorestart=true
startsecs=3
stopsignal=INT
stopwaitsecs=30
priority=10
redirect_stderr=true
stdout_logfile=${log_dir}/postgres.log

[program:redis]
command=${redis_server} --port ${redis_port} --bind 127.0.0.1 --save '' --appendonly no --dir ${redis_dir}
autostart=false
autorestart=true
startsecs=1
priority=10
redirect_stderr=true
stdout_logfile=${log_dir}/redis.log

% for index, port in enumerate(action_ports, 1):
[program:actions-${index}]
command=${python} -m bot.action_server
environment=BIND_HOST="127.0.0.1",ACTIONS_PORT="${port}"
autostart=false
autorestart=true
startsecs=3
stopasgroup=true
killasgroup=true
stopwaitsecs=20
priority=20
redirect_stderr=true
stdout_logfile=${log_dir}/actions-${index}.log

% endfor
% for index, port in enumerate(rasa_ports, 1):
[program:rasa-${index}]
command=${rasa} run --model ${model} --endpoints endpoints.yml --credentials credentials.yml --interface 127.0.0.1 --port ${port}
autostart=false
autorestart=true
startsecs=5
stopasgroup=true
killasgroup=true
stopwaitsecs=20
priority=30
redirect_stderr=true
stdout_logfile=${log_dir}/rasa-${index}.log

% endfor
[program:nginx]
command=${nginx} -e ${log_dir}/nginx-error.log -p ${cluster_dir} -c ${cluster_dir}/nginx.conf
autostart=false
autorestart=true
startsecs=1
stopsignal=QUIT
stopwaitsecs=20
priority=40
redirect_stderr=true
stdout_logfile=${log_dir}/nginx.log

## Groups order the shutdown (highest priority first: nginx, Rasa, actions, stores).
[group:stores]
programs=postgres,redis
priority=10

[group:actions]
programs=${",".join(f"actions-{index}" for index in range(1, len(action_ports) + 1))}
priority=20

[group:rasa]
programs=${",".join(f"rasa-{index}" for index in range(1, len(rasa_ports) + 1))}
priority=30
