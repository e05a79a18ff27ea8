## Search of conversations: the form (GET, so a search is a link), then a page
## of results.  ``query``: the fields as typed; ``found``: search.SearchPage or
## None before the first search; ``rows``: views.handoff_row; ``page_links``:
## "prev" / "next" addresses where there are such pages.
<%inherit file="layout.mako"/>\
<%!
    from bot.console.views import conversation_url, url
%>\
<%namespace file="widgets.mako" import="alert"/>\
<h1>会话搜索</h1>
${alert(error)}
<form method="get" action="${url("search")}" class="panel search-form" data-testid="search-form">
<div class="fields">
<label>关键词（用户的话、摘要、回复和备注）<input type="search" name="q" value="${query.get("q", "")}" maxlength="100" data-testid="search-text"></label>
<label>用户的问题<input type="text" name="problem" value="${query.get("problem", "")}" maxlength="100"></label>
<label>从（日期）<input type="date" name="from" value="${query.get("from", "")}"></label>
<label>到（日期）<input type="date" name="to" value="${query.get("to", "")}"></label>
<label>状态<select name="state">
<option value="">全部</option>\
% for value, label in states:
<option value="${value}"${" selected" if query.get("state") == value else ""}>${label}</option>\
% endfor
</select></label>
<label>渠道<select name="channel">
<option value="">全部</option>\
% for value, label in channels:
<option value="${value}"${" selected" if query.get("channel") == value else ""}>${label}</option>\
% endfor
</select></label>
<label>团队<select name="team">
<option value="">全部</option>\
% for team in teams:
<option value="${team.id}"${" selected" if query.get("team") == str(team.id) else ""}>${team.name}</option>\
% endfor
</select></label>
<label>客服<select name="agent">
<option value="">全部</option>\
% for agent in agents:
<option value="${agent.id}"${" selected" if query.get("agent") == str(agent.id) else ""}>${agent.display_name}（${agent.login}）</option>\
% endfor
</select></label>
</div>
<button type="submit" class="primary">搜索</button>
% if not frame.agent.is_admin:
<p class="muted">您能搜到排队中的会话和您正在接待的会话；已结束的和其他客服接待中的会话只有管理员可以搜索。</p>
% endif
</form>
% if found is not None:
<section class="panel" aria-labelledby="results-heading">
<h2 id="results-heading">搜索结果 <span class="count" data-testid="search-total">${found.total}</span></h2>
% if rows:
<table class="list" data-testid="search-results"><thead><tr><th scope="col">会话</th><th scope="col">时间</th>\
<th scope="col">状态</th><th scope="col">原因</th><th scope="col">渠道</th><th scope="col">用户的问题</th>\
<th scope="col">客服</th><th scope="col">评分</th></tr></thead><tbody>\
% for row in rows:
<tr data-testid="search-row" data-handoff-id="${row["id"]}"><td><a href="${conversation_url(row["id"])}">#${row["id"]}</a></td>\
<td>${row["when"]}</td><td>${row["state"]}</td><td>${row["reason"]}</td><td>${row["channel"]}</td>\
<td class="problem">${row["problem"]}</td><td>${row["agent_name"]}</td><td>${row["rating"]}</td></tr>\
% endfor
</tbody></table>
<nav class="pages" aria-label="翻页"><span>第 ${found.page} / ${found.pages} 页</span>\
% if "prev" in page_links:
 <a href="${page_links["prev"]}" rel="prev">上一页</a>\
% endif
% if "next" in page_links:
 <a href="${page_links["next"]}" rel="next">下一页</a>\
% endif
</nav>
% else:
<p class="empty">没有找到符合条件的会话。</p>
% endif
</section>
% endif
