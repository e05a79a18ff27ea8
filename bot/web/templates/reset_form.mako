## The one-time reset link's form: the masked login name, the password rule,
## the new password twice; ``error`` is the refusal of the last attempt.
<%inherit file="page.mako"/>\
% if error:
<p class="error" role="alert">${error}</p>\
% endif

<p>账号：${masked_login}</p>
<p>${password_rule}</p>
<form method="post" action="reset">
<input type="hidden" name="token" value="${token}">
<label for="password">新密码</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="8">
<label for="repeated">再输入一次</label>
<input id="repeated" name="repeated" type="password" autocomplete="new-password" required minlength="8">
<button type="submit">确定</button></form>\
