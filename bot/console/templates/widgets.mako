## Small fragments several pages use: a form's CSRF field, an error, a notice.
<%def name="csrf_field(token)">\
<input type="hidden" name="csrf" value="${token}">\
</%def>\
<%def name="alert(error)">\
% if error:
<p class="error" role="alert" data-testid="error">${error}</p>\
% endif
</%def>\
<%def name="notice(text)">\
% if text:
<p class="notice" role="status">${text}</p>\
% endif
</%def>\
