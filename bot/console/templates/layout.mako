## Every console page: the document, and for logged-in agents (``frame``) the
## CSRF token, the page script, data for it on <body> and the header.  No
## inline script or style: the pages' Content-Security-Policy forbids them.
<%!
    from bot.console.views import CONSOLE_PATH, PRODUCT, STATIC_VERSION, url
    from bot.handoff.labels import PRESENCE_LABELS
%>\
<%namespace file="widgets.mako" import="csrf_field"/>\
<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
% if frame is not None:
<meta name="csrf-token" content="${frame.csrf}">
% endif
<title>\
% if frame is not None and frame.waiting:
(${frame.waiting}) \
% endif
${title} - ${PRODUCT}</title>
<link rel="stylesheet" href="${url("static/console.css")}?v=${STATIC_VERSION}">
% if frame is not None:
<script src="${url("static/console.js")}?v=${STATIC_VERSION}" defer></script>
% endif
</head><body data-page="${page}" data-base="${CONSOLE_PATH}" data-title="${title} - ${PRODUCT}"\
% if frame is not None:
 data-last-event="${frame.last_event_id}" data-agent-id="${frame.agent.id}" data-admin="${"1" if frame.agent.is_admin else "0"}"\
% endif
>
<a class="skip" href="#main">跳到主要内容</a>
% if frame is not None:
${header(frame)}
% endif
<main id="main" tabindex="-1">
${next.body()}
</main></body></html>\
<%def name="header(frame)">\
<header class="topbar">
<a class="brand" href="${url()}">${PRODUCT}</a>
<nav aria-label="主导航"><ul>
<li><a href="${url()}">排队与会话 <span class="badge" id="waiting-badge" data-testid="waiting-badge"
 aria-label="排队中的会话数"${"" if frame.waiting else " hidden"}>${frame.waiting}</span></a></li>
<li><a href="${url("search")}">会话搜索</a></li>
<li><a href="${url("reports")}">统计报表</a></li>
% if frame.agent.is_admin:
<li><a href="${url("teams")}">团队管理</a></li>
% endif
</ul></nav>
<span class="connection" id="connection" role="status" aria-live="polite"></span>
<form method="post" action="${url("presence")}" class="presence" data-testid="presence"
 aria-label="我的状态">${csrf_field(frame.csrf)}<span class="presence-label">状态</span>\
% for value, label in PRESENCE_LABELS.items():
<button type="submit" name="presence" value="${value.value}" data-testid="presence-${value.value}"\
 aria-pressed="${"true" if frame.agent.presence == value else "false"}">${label}</button>\
% endfor
</form>
<label class="sound"><input type="checkbox" id="sound-toggle" checked> 新会话提示音</label>
<button type="button" id="notify-toggle" class="notify" data-testid="notify-toggle" hidden>开启桌面通知</button>
<span class="whoami">${frame.agent.display_name}（${"管理员" if frame.agent.is_admin else "客服"} · ${frame.agent.login}）</span>
<form method="post" action="${url("logout")}" class="logout">${csrf_field(frame.csrf)}
<button type="submit">退出登录</button></form>
</header>\
</%def>\
