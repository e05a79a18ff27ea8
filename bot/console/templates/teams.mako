## 团队管理 (admins): the teams with their members and routed topics, the
## default team, and one form per change (bot/console/team_routes.py).
## ``teams``: TeamView; ``agents``: active agents; ``topics``: (key, question, team or None).
<%inherit file="layout.mako"/>\
<%!
    from bot.console.views import url
    from bot.handoff.labels import PRESENCE_LABELS
%>\
<%namespace file="widgets.mako" import="csrf_field, alert"/>\
<h1>团队管理</h1>
${alert(error)}
<p class="muted">转人工时，助手按用户最后的问题把会话分给对应的团队（没有指定团队的问题归默认团队），
并自动分配给这个团队在线且接待会话最少的客服。</p>
<section aria-labelledby="teams-heading" class="panel">
<h2 id="teams-heading">团队</h2>
% if not teams:
<p class="empty">还没有团队：所有在线客服都可能被分配任何会话。</p>
% endif
% for team in teams:
<article class="team" data-testid="team" data-team="${team.name}">
<h3>${team.name}\
% if team.is_default:
 <span class="tag">默认团队</span>\
% endif
</h3>
<h4>成员</h4>
% if team.members:
<ul class="members">
% for member in team.members:
<li><span class="member">${member.display_name}（${member.login} · ${PRESENCE_LABELS[member.presence]}）</span>
<form method="post" action="${url("teams/remove")}" class="inline">${csrf_field(frame.csrf)}\
<input type="hidden" name="team" value="${team.name}"><input type="hidden" name="login" value="${member.login}">\
<button type="submit" aria-label="把 ${member.login} 移出 ${team.name}">移出</button></form></li>
% endfor
</ul>
% else:
<p class="muted">（暂无成员）</p>
% endif
<p>负责的问题：${"、".join(questions.get(topic, topic) for topic in team.topics) if team.topics else "（无）"}</p>
<form method="post" action="${url("teams/add")}" class="row">${csrf_field(frame.csrf)}\
<input type="hidden" name="team" value="${team.name}">
<label>添加成员 <select name="login" data-testid="add-member-${team.name}">\
% for agent in agents:
<option value="${agent.login}">${agent.display_name}（${agent.login}）</option>\
% endfor
</select></label> <button type="submit">添加</button></form>
<div class="row">
% if not team.is_default:
<form method="post" action="${url("teams/default")}" class="inline">${csrf_field(frame.csrf)}\
<input type="hidden" name="team" value="${team.name}"><button type="submit">设为默认团队</button></form>
% endif
<form method="post" action="${url("teams/delete")}" class="inline">${csrf_field(frame.csrf)}\
<input type="hidden" name="team" value="${team.name}">\
<button type="submit" aria-label="删除团队 ${team.name}">删除团队</button></form>
</div>
</article>
% endfor
<form method="post" action="${url("teams/create")}" class="row" data-testid="create-team">${csrf_field(frame.csrf)}
<label>新团队名称 <input name="name" maxlength="64" required></label>
<label><input type="checkbox" name="default" value="1"> 设为默认团队</label>
<button type="submit">创建团队</button></form>
</section>
<section aria-labelledby="routes-heading" class="panel">
<h2 id="routes-heading">问题分配规则</h2>
<form method="post" action="${url("teams/route")}" class="row" data-testid="route-form">${csrf_field(frame.csrf)}
<label>问题 <select name="topic">\
% for key, question, team in topics:
<option value="${key}">${question}（${key}）</option>\
% endfor
</select></label>
<label>交给团队 <select name="team">\
% for team in teams:
<option value="${team.name}">${team.name}</option>\
% endfor
</select></label>
<button type="submit">保存规则</button></form>
<table class="list" data-testid="routes-table"><thead><tr><th scope="col">问题</th><th scope="col">话题</th>
<th scope="col">团队</th><th scope="col">操作</th></tr></thead><tbody>
% for key, question, team in topics:
% if team:
<tr><td>${question}</td><td>${key}</td><td>${team}</td>
<td><form method="post" action="${url("teams/unroute")}" class="inline">${csrf_field(frame.csrf)}\
<input type="hidden" name="topic" value="${key}"><button type="submit">改回默认团队</button></form></td></tr>
% endif
% endfor
</tbody></table>
</section>
