## A conversation: status, the assistant's summary, the transcript, and the
## forms that apply now (``can``: views.abilities; the others are there but
## hidden, the page script shows them when the state changes).
<%inherit file="layout.mako"/>\
<%!
    from bot.console.views import conversation_url, url
%>\
<%namespace file="widgets.mako" import="csrf_field, alert"/>\
<p class="back"><a href="${url()}">← 返回排队与会话</a>\
% if via is not None:
 · <a href="${conversation_url(via)}" data-testid="back-to-held">← 返回会话 #${via}</a>\
% endif
</p>
<h1>会话 #${handoff.id}</h1>
% if via is not None:
<p class="notice" role="status" data-testid="history-notice">这是会话 #${via} 的用户之前的会话，供您参考（只读）。</p>
% elif team_read:
<p class="notice" role="status" data-testid="team-notice">这是您所在团队（${handoff.team_name or "未分组"}）的会话，供您查看（只读）：接手、回复、备注、转接和结束由接待的客服或管理员操作。</p>
% endif
<p class="status" id="status" role="status" data-testid="status"
 data-state="${handoff.state.value}">${status}</p>
<div id="action-error">${alert(error)}</div>
<div class="conversation" id="conversation" data-handoff-id="${handoff.id}" data-last-message="${last_message}">
<div class="main-column">
<section aria-labelledby="summary-heading" class="panel summary" data-testid="summary">
<h2 id="summary-heading">助手的摘要</h2>
<dl>
% for label, value in summary:
<dt>${label}</dt><dd>${summary_value(value)}</dd>
% endfor
</dl>
</section>
% if history is not None:
${history_panel(history, handoff.id)}
% endif
<section aria-labelledby="transcript-heading" class="panel">
<h2 id="transcript-heading">对话记录</h2>
<p class="muted">从本次对话开始：用户与智能助手的对话、助手给出的按钮（用户点的那个已标出）、照片（已模糊处理）和办理步骤，然后是转人工以后的消息。</p>
<ol class="transcript" id="transcript" aria-live="polite" data-testid="transcript">
% for entry in log:
${log_item(entry)}\
% endfor
% if log:
<li class="msg handoff-mark" data-testid="handoff-mark"><div class="text">—— 在这里转人工（${reason}）——</div></li>
% endif
% for message in messages:
${message_item(message)}\
% endfor

</ol>
</section>
</div>
<aside class="side-column" aria-label="操作">
<section class="panel" data-needs="claim"${hidden(can, "claim")}>
<h2>接手</h2>
<p class="muted">接手后由您回复用户；其他客服会看到这个会话已有人接待。</p>
<form method="post" action="${conversation_url(handoff.id, "claim")}">${csrf_field(frame.csrf)}
<button type="submit" class="primary" data-testid="claim">接手这个会话</button></form>
</section>
<section class="panel" data-needs="reply"${hidden(can, "reply")}>
<h2 id="reply-heading">回复用户</h2>
<form method="post" action="${conversation_url(handoff.id, "reply")}" class="stack js-async" id="reply-form" data-testid="reply-form">${csrf_field(frame.csrf)}
<label for="canned">常用回复（来自常见问题答案）</label>
<div class="row"><select id="canned" data-testid="canned">
<option value="">— 选择一条常用回复 —</option>\
% for group, replies in canned:
<optgroup label="${group}">\
% for reply in replies:
<option value="${reply.key}" data-text="${reply.text}">${reply.title}</option>\
% endfor
</optgroup>\
% endfor
</select>
<button type="button" id="canned-insert">填入回复框</button></div>
<label for="reply-text">回复内容（用户会看到；Ctrl+Enter 发送）</label>
<textarea id="reply-text" name="text" rows="5" maxlength="4000" required
 data-testid="reply-text">${reply_draft}</textarea>
<button type="submit" class="primary">发送给用户</button>
</form>
</section>
<section class="panel" data-needs="note"${hidden(can, "note")}>
<h2>内部备注</h2>
<form method="post" action="${conversation_url(handoff.id, "note")}" class="stack js-async" id="note-form">${csrf_field(frame.csrf)}
<label for="note-text">备注内容（只有客服能看到，不会发给用户）</label>
<textarea id="note-text" name="text" rows="3" maxlength="4000" required
 data-testid="note-text">${note_draft}</textarea>
<button type="submit">添加备注</button>
</form>
</section>
<section class="panel" data-needs="manage"${hidden(can, "manage")}>
<h2>转接与结束</h2>
<form method="post" action="${conversation_url(handoff.id, "transfer")}" class="stack">${csrf_field(frame.csrf)}
<label for="transfer-to">转给其他客服</label>
<div class="row"><select id="transfer-to" name="agent_id" required data-testid="transfer-to">
<option value="">— 选择客服 —</option>\
% for target in targets:
<option value="${target.id}">${target.display_name}（${target.login}）</option>\
% endfor
</select>
<button type="submit">转接</button></div>
</form>
<form method="post" action="${conversation_url(handoff.id, "hand-back")}" class="stack">${csrf_field(frame.csrf)}
<p class="muted">交还：问题没有解决完或需要助手继续办理，会话回到智能助手，用户会被请求评分。</p>
<button type="submit" data-testid="hand-back">交还智能助手</button>
</form>
<form method="post" action="${conversation_url(handoff.id, "resolve")}" class="stack">${csrf_field(frame.csrf)}
<p class="muted">已解决：问题已经解决，结束人工服务，会话回到智能助手，用户会被请求评分。</p>
<button type="submit" class="primary" data-testid="resolve">已解决，结束会话</button>
</form>
</section>
<section class="panel" data-needs="closed"${hidden(can, "closed")}>
<h2>会话已结束</h2>
<p class="muted">这个会话已经不在人工服务中；对话记录和备注仍可查看。</p>
</section>
</aside>
</div>\
<%def name="hidden(can, need)">${"" if can.get(need) else " hidden"}</%def>\
<%def name="summary_value(value)">\
## views.SummaryValue: lists as lists, mappings as nested definition lists.
% if value.kind == "list":
<ul>\
% for _, item in value.items:
<li>${summary_value(item)}</li>\
% endfor
</ul>\
% elif value.kind == "map":
<dl class="nested">\
% for label, item in value.items:
<dt>${label}</dt><dd>${summary_value(item)}</dd>\
% endfor
</dl>\
% elif value.kind == "span":
<span class="pre">${value.text}</span>\
% else:
${value.text}\
% endif
</%def>\
<%def name="log_item(entry)">\
## An entry of the conversation before the handoff: ``entry`` as views.log_entry_view.
<li class="msg msg-log msg-log-${entry["kind"]}" data-testid="log-entry" data-kind="${entry["kind"]}">\
<div class="meta"><span class="who">${entry["label"]}</span> <time>${entry["at"]}</time>\
% if entry["understood"]:
 <span class="understood">助手理解为：${entry["understood"]}</span>\
% endif
</div>\
<div class="text">${entry["text"]}</div>\
% if entry["upload_id"]:
<img class="thumb" src="${entry["photo_url"]}" alt="用户发送的照片（已模糊处理）" data-testid="photo" width="160" height="120">\
% endif
% if entry["buttons"]:
<ul class="buttons" aria-label="助手给出的按钮">\
% for button in entry["buttons"]:
% if button["clicked"]:
<li class="clicked" data-testid="clicked-button">${button["title"]}<span class="clicked-mark">（用户点了这个）</span></li>\
% else:
<li>${button["title"]}</li>\
% endif
% endfor
</ul>\
% endif
</li>\
</%def>\
<%def name="history_panel(rows, held_id)">\
## The same user's other handoffs (views.handoff_row), each opened through ``held_id``.
<section aria-labelledby="history-heading" class="panel">
<details data-testid="history">
<summary id="history-heading">这位用户的历史会话（${len(rows)}）</summary>
% if rows:
<table class="list"><thead><tr><th scope="col">会话</th><th scope="col">时间</th><th scope="col">用户的问题</th>\
<th scope="col">结果</th><th scope="col">客服</th><th scope="col">评分</th></tr></thead><tbody>\
% for row in rows:
<tr data-testid="history-row"><td><a href="${conversation_url(row["id"])}?via=${held_id}">#${row["id"]}</a></td>\
<td>${row["when"]}</td><td class="problem">${row["problem"]}</td><td>${row["state"]}</td>\
<td>${row["agent_name"]}</td><td>${row["rating"]}</td></tr>\
% endfor
</tbody></table>
% else:
<p class="empty">没有这位用户之前的会话。</p>
% endif
</details>
</section>
</%def>\
<%def name="message_item(message)">\
## A message of the transcript: ``message`` as views.message_json.
<li class="msg msg-${message["kind"]}" data-message-id="${message["id"]}" data-testid="message">\
<div class="meta"><span class="who">${message["label"]}</span> <time>${message["at"]}</time></div>\
<div class="text">${message["text"]}</div></li>\
</%def>\
