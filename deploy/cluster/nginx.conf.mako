## nginx, the cluster's single entry point (`python -m bot cluster start`, bot/cluster.py).
## A Mako template: the cluster renders it into CLUSTER_DIR/nginx.conf at every start.
## Lines starting with ## are template comments; the # comments below reach the rendered file.
# Rendered by `python -m bot cluster start` from deploy/cluster/nginx.conf.mako; edit that, not this.
% if worker_user:
user ${worker_user};
% endif
worker_processes 1;
# Two descriptors per WebSocket user (the user's and the upstream one): the first full load
# test (500 users) ran out of nginx's default 1024 connections ("worker_connections are not
# enough") and refused users; docs/capacity.md.
worker_rlimit_nofile 16384;
daemon off;  # supervisord watches the master process and restarts it if it dies
pid ${cluster_dir}/nginx.pid;
error_log ${log_dir}/nginx-error.log warn;

events {
    worker_connections 8192;
}

http {
    access_log ${log_dir}/nginx-access.log;
    server_tokens off;
    client_body_temp_path ${temp_dir}/client_body;
    proxy_temp_path ${temp_dir}/proxy;
    fastcgi_temp_path ${temp_dir}/fastcgi;
    uwsgi_temp_path ${temp_dir}/uwsgi;
    scgi_temp_path ${temp_dir}/scgi;

    # Connection: upgrade for WebSocket requests, close otherwise.
    map $http_upgrade $connection_upgrade {
        default upgrade;
        '' close;
    }

    # REST, the account pages, the agent console, the widget's files: any replica
    # (every conversation lives in PostgreSQL, its lock in Redis).
    # max_fails=0 on the Rasa servers: a slow server is not a dead one.  With max_fails=1 one
    # request timing out under load (120 s) took its server out for fail_timeout, and with every
    # server out nginx answered 502 "no live upstreams" to everyone (the seventh load run,
    # docs/capacity.md).  A dead or restarting server refuses the connection at once, and
    # proxy_next_upstream below sends the request to the next server, request by request.
    upstream rasa {
        least_conn;
% for port in rasa_ports:
        server 127.0.0.1:${port} max_fails=0;
% endfor
        # Reused connections: under load a new TCP connection per request waits in a busy
        # replica's accept queue (proxy_connect_timeout, then 504).
        keepalive 64;
    }

    # socket.io: a client's HTTP long-polling requests must all reach the replica that
    # holds its engine.io session, so the client's address picks the replica.
    upstream rasa_sticky {
        ip_hash;
% for port in rasa_ports:
        server 127.0.0.1:${port} max_fails=0;
% endfor
    }

% if rest_gate:
    # The gate in front of the REST webhook: one count for the whole cluster (the map gives
    # every request the same key; an empty key would not be counted).
    map $host $rest_gate_key {
        default cluster;
    }
    limit_conn_zone $rest_gate_key zone=rest_turns:1m;

    # The gate is a server of its own behind the public one, which reads each request body
    # whole before passing it on (proxy_request_buffering): limit_conn counts a request from
    # its head, so on the public server a few clients sending bodies at a crawl would hold
    # every place and make every REST user hear "busy".
    upstream rest_gate {
        server unix:${rest_gate_socket};
        keepalive 32;
    }

    server {
        listen unix:${rest_gate_socket};
        access_log off;  # the public server logs each request once, with the status it answered
        client_max_body_size ${max_body_bytes};
        proxy_http_version 1.1;
        proxy_connect_timeout 2s;
        proxy_next_upstream error timeout;

        location / {
            proxy_pass http://rasa;
            # Host and Connection are set again; X-Forwarded-* and X-Request-Start pass as the
            # public server set them (the Rasa servers trust them from 127.0.0.1 only).
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_read_timeout 120s;
            # At most MAX_TURNS_IN_FLIGHT per Rasa server in flight; the next is answered
            # here, at once, as a Rasa server sheds one (bot/channels/busy.py): a saturated
            # server's event loop reads a request too late to shed it (docs/capacity.md).
            # A Rasa server's own 503 passes through unchanged (no proxy_intercept_errors).
            limit_conn rest_turns ${rest_gate};
            limit_conn_status 503;
            limit_conn_log_level info;
            error_page 503 @rest_busy;
        }

        location @rest_busy {
            default_type application/json;
            add_header Retry-After ${retry_after_seconds} always;
            return 503 ${refused_body};
        }
    }

% endif
    upstream actions {
        least_conn;
% for port in action_ports:
        server 127.0.0.1:${port} max_fails=1 fail_timeout=5s;
% endfor
        keepalive 32;
    }

<%def name="forwarded()">
            # Set, never appended: a client's own X-Forwarded-* headers are dropped here, so
            # the Rasa servers (TRUSTED_PROXIES=127.0.0.1) believe only what nginx saw.
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Real-IP "";
            # When nginx read the request: a Rasa server sheds a turn that waited too long to
            # reach it (MAX_TURN_WAIT_SECONDS, bot/channels/request_age.py).
            proxy_set_header X-Request-Start "t=$msec";
</%def>
    server {
        listen ${listen_host}:${public_port};
        # The Rasa server reads no larger body (MAX_UPLOAD_BYTES plus the multipart overhead);
        # nginx answers 413 before passing one on.
        client_max_body_size ${max_body_bytes};
        proxy_http_version 1.1;
        proxy_connect_timeout 2s;
        # A replica that refuses the connection (stopped, restarting) is skipped; a request
        # it has already received is never sent twice.
        proxy_next_upstream error timeout;

        location /socket.io/ {
            proxy_pass http://rasa_sticky;
${forwarded()}
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;
            # Longer than socket.io's ping interval and timeout (25 s + 20 s).
            proxy_read_timeout 120s;
        }

        # REST messages (and their trailing-slash spelling, which Sanic routes alike).
        location ~ ^/webhooks/rest/webhook/?$ {
% if rest_gate:
            proxy_pass http://rest_gate;  # through the gate, once the body is here
% else:
            proxy_pass http://rasa;
% endif
${forwarded()}
            proxy_set_header Connection "";
            proxy_read_timeout 120s;
        }

        location / {
            proxy_pass http://rasa;
${forwarded()}
            proxy_set_header Connection "";
            proxy_read_timeout 120s;
        }
    }

    # The action servers, for the Rasa servers only (ACTION_SERVER_URL): loopback.
    server {
        listen 127.0.0.1:${actions_port};
        client_max_body_size ${actions_max_body_bytes};
        proxy_http_version 1.1;
        proxy_connect_timeout 2s;
        proxy_next_upstream error timeout;

        location / {
            proxy_pass http://actions;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_read_timeout 120s;
        }
    }
}
