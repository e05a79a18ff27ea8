## The login form; its CSRF token is the double-submit one (cookie = field).
<%inherit file="layout.mako"/>\
<%!
    from bot.console.views import PRODUCT, url
%>\
<%namespace file="widgets.mako" import="csrf_field, alert, notice"/>\
<div class="login-box">
<h1>${PRODUCT}登录</h1>
<p class="muted">科技部政务服务平台 · 人工客服</p>
${alert(error)}${notice(message)}
<form method="post" action="${url("login")}" class="stack">
${csrf_field(login_csrf)}
<label for="login">登录名</label>
<input id="login" name="login" autocomplete="username" required maxlength="64" value="${login}"
 autocapitalize="off" spellcheck="false"${"" if login else " autofocus"}>
<label for="password">密码</label>
<input id="password" name="password" type="password" autocomplete="current-password" required
 maxlength="200"${" autofocus" if login else ""}>
<button type="submit" class="primary">登录</button>
</form>
<p class="muted small">客服账号由管理员创建；连续输错密码会暂时锁定登录。</p>
</div>\
