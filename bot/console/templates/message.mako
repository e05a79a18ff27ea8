## A page with one message (refusals, not found, a wrong report range); the
## link leads back to the queue, or to the login without a session.
<%inherit file="layout.mako"/>\
<%!
    from bot.console.views import url
%>\
<%namespace file="widgets.mako" import="alert"/>\
<h1>${title}</h1>
${alert(text)}
% if frame is not None:
<p><a href="${url()}">返回排队与会话</a></p>\
% else:
<p><a href="${url("login")}">去登录</a></p>\
% endif
