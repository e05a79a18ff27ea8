## The new password is set; the link is spent.
<%inherit file="page.mako"/>\
<p>账号 ${masked_login} 的新密码已生效，请回到平台用新密码登录。这个链接已失效。</p>\
