## The queue: waiting (oldest first), mine, the others'.  The page script
## replaces the three <tbody> with the ones of a fresh copy of this page, so
## a row is drawn here only.  ``waiting``, ``mine``, ``others``: rows as
## ``views.queue_row_json`` (the shape of ``api/queue``).
<%inherit file="layout.mako"/>\
<%!
    from bot.console.views import conversation_url, duration_zh
%>\
<%namespace file="widgets.mako" import="csrf_field, alert"/>\
<h1>排队与会话</h1>
${alert(error)}
<section aria-labelledby="waiting-heading" class="panel">
<h2 id="waiting-heading">排队等待 <span class="count" id="waiting-count">${len(waiting)}</span></h2>
<table class="list" data-testid="waiting-table"><thead><tr>
<th scope="col">序号</th><th scope="col">已等待</th><th scope="col">团队</th><th scope="col">原因</th><th scope="col">渠道</th>
<th scope="col">用户的问题</th><th scope="col">操作</th></tr></thead>
<tbody id="waiting-rows">\
% for position, row in enumerate(waiting, 1):
${waiting_row(row, position, frame.csrf)}\
% endfor
</tbody>
</table>
<p class="empty" id="waiting-empty"${" hidden" if waiting else ""}>暂无排队的会话。</p>
</section>
<section aria-labelledby="mine-heading" class="panel">
<h2 id="mine-heading">我接待的会话 <span class="count" id="mine-count">${len(mine)}</span></h2>
<table class="list" data-testid="mine-table"><thead><tr>
<th scope="col">会话</th><th scope="col">接手至今</th><th scope="col">团队</th><th scope="col">原因</th><th scope="col">渠道</th>
<th scope="col">用户的问题</th><th scope="col">操作</th></tr></thead>
<tbody id="mine-rows">\
% for row in mine:
${assigned_row(row, True)}\
% endfor
</tbody>
</table>
<p class="empty" id="mine-empty"${" hidden" if mine else ""}>您当前没有接待中的会话。</p>
</section>
<section aria-labelledby="others-heading" class="panel">
<h2 id="others-heading">其他客服接待中 <span class="count" id="others-count">${len(others)}</span></h2>
<table class="list" data-testid="others-table"><thead><tr>
<th scope="col">会话</th><th scope="col">客服</th><th scope="col">团队</th><th scope="col">原因</th><th scope="col">渠道</th>
<th scope="col">用户的问题</th><th scope="col">操作</th></tr></thead>
<tbody id="others-rows">\
% for row in others:
${assigned_row(row, False)}\
% endfor
</tbody>
</table>
<p class="empty" id="others-empty"${" hidden" if others else ""}>${"没有其他客服接待中的会话。" if frame.agent.is_admin else "其他客服接待中的会话只有管理员可以查看。您所在团队的会话可以在“会话搜索”中找到（只读）。"}</p>
</section>\
<%def name="ticking(seconds)">\
<td class="js-ticking" data-seconds="${int(seconds)}">${duration_zh(seconds)}</td>\
</%def>\
<%def name="waiting_row(row, position, csrf)">\
<tr data-handoff-id="${row["id"]}" data-testid="waiting-row">
<td>${position}</td>
${ticking(row["seconds"])}
<td>${row["team"]}</td><td>${row["reason"]}</td><td>${row["channel"]}</td><td class="problem">${row["problem"]}</td>
<td class="row-actions"><a href="${conversation_url(row["id"])}">查看</a>
<form method="post" action="${conversation_url(row["id"], "claim")}" class="inline">${csrf_field(csrf)}
<button type="submit" aria-label="接手会话 ${row["id"]}">接手</button></form></td></tr>\
</%def>\
<%def name="assigned_row(row, mine)">\
<tr data-handoff-id="${row["id"]}" data-testid="${"mine" if mine else "others"}-row">
<td>#${row["id"]}</td>\
% if mine:
${ticking(row["seconds"])}
% else:
<td>${row["agent_name"]}</td>
% endif
<td>${row["team"]}</td><td>${row["reason"]}</td><td>${row["channel"]}</td><td class="problem">${row["problem"]}</td>
<td class="row-actions"><a href="${conversation_url(row["id"])}">打开</a></td></tr>\
</%def>\
