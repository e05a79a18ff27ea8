## A conversation: status, the assistant's summary, the transcript, and the
## forms that apply now (``can``: views.abilities; the others are there but
## hidden, the page script shows them when the state changes).
<%inherit file="layout.mako"/>\
<%!
    from bot.console.views import conversation_url, url
%>\
<%namespace file="widgets.mako" import="csrf_field, alert"/>\
<p class="back"><a href="${url()}">← 返回排队与会话</a></p>
<h1>会话 #${handoff.id}</h1>
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
<section aria-labelledby="transcript-heading" class="panel">
<h2 id="transcript-heading">对话记录</h2>
<ol class="transcript" id="transcript" aria-live="polite" data-testid="transcript">
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
<%def name="message_item(message)">\
## A message of the transcript: ``message`` as views.message_json.
<li class="msg msg-${message["kind"]}" data-message-id="${message["id"]}" data-testid="message">\
<div class="meta"><span class="who">${message["label"]}</span> <time>${message["at"]}</time></div>\
<div class="text">${message["text"]}</div></li>\
</%def>\
