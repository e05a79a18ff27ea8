## A reset link that is unknown, used or expired: the reason.
<%inherit file="page.mako"/>\
<p class="error">${reason}</p>\
