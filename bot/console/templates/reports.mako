## The reports page: the range, the totals, six charts (chart.mako), the
## per-day table with its total row.  ``totals``: views.report_totals;
## ``rows``: (label, views.report_cells) per day; ``total``: the same for the period.
<%inherit file="layout.mako"/>\
<%!
    from bot.console.views import url
%>\
<%namespace file="chart.mako" import="chart_svg, legend"/>\
<h1>统计报表</h1>
<form method="get" action="${url("reports")}" class="row filters">
<label for="days">时间范围</label>
<select id="days" name="days">\
% for choice in choices:
<option value="${choice}"${" selected" if choice == days else ""}>最近 ${choice} 天</option>\
% endfor
</select>
<button type="submit">查看</button>
</form>
<p class="muted">日期按 ${timezone} 时区计算，含今天；转人工的各项数据都算在发起转人工的那一天。
命令行：<code>python -m bot handoff report --days ${days}</code></p>
<p class="exports">导出 CSV：<a href="${url("reports.csv")}?days=${days}&amp;by=day" data-testid="csv-days">每日数据</a>
· <a href="${url("reports.csv")}?days=${days}&amp;by=agent" data-testid="csv-agents">每位客服</a>
· <a href="${url("reports.csv")}?days=${days}&amp;by=team" data-testid="csv-teams">每个团队</a></p>
<dl class="totals" data-testid="totals">\
% for label, value in totals:
<div><dt>${label}</dt><dd>${value}</dd></div>\
% endfor
</dl>
<div class="charts">
% for chart in charts:
<figure class="panel chart">${chart_svg(chart)}${legend(chart.legend)}</figure>\
% endfor

</div>
<section class="panel" aria-labelledby="table-heading">
<h2 id="table-heading">每日明细</h2>
<div class="table-scroll"><table class="list numbers" data-testid="report-table"><thead><tr><th scope="col">日期</th>\
<th scope="col">会话数</th><th scope="col">转人工</th><th scope="col">转人工率</th>\
% for reason in reasons:
<th scope="col">${reason}</th>\
% endfor
<th scope="col">首次回复 中位数</th><th scope="col">首次回复 P90</th><th scope="col">解决用时 中位数</th>\
<th scope="col">评分（人数）</th><th scope="col">用户离开</th></tr></thead><tbody>\
% for label, cells in rows:
${report_row(label, cells)}\
% endfor
</tbody><tfoot>${report_row("合计", total)}</tfoot></table></div>
</section>
<section class="panel" aria-labelledby="agents-heading">
<h2 id="agents-heading">每位客服</h2>
<p class="muted">按最后接待的客服统计（接手或被转给她）；首次回复和处理用时从她接手时算起。</p>
<div class="charts">
% for chart in agent_charts:
<figure class="panel chart">${chart_svg(chart)}</figure>\
% endfor

</div>
<div class="table-scroll"><table class="list numbers" data-testid="agent-table"><thead><tr>\
% for head in agent_head:
<th scope="col">${head}</th>\
% endfor
</tr></thead><tbody>\
% for cells in agent_rows:
<tr><th scope="row">${cells[0]}</th>\
% for cell in cells[1:]:
<td>${cell}</td>\
% endfor
</tr>\
% endfor
</tbody></table></div>
</section>
<section class="panel" aria-labelledby="teams-heading">
<h2 id="teams-heading">每个团队</h2>
<p class="muted">按转人工时分到的团队统计，不论由谁接待；首次回复和处理用时从客服接手时算起。</p>
<div class="table-scroll"><table class="list numbers" data-testid="team-table"><thead><tr>\
% for head in team_head:
<th scope="col">${head}</th>\
% endfor
</tr></thead><tbody>\
% for cells in team_rows:
<tr><th scope="row">${cells[0]}</th>\
% for cell in cells[1:]:
<td>${cell}</td>\
% endfor
</tr>\
% endfor
</tbody></table></div>
</section>\
<%def name="report_row(label, cells)">\
<tr><th scope="row">${label}</th>\
% for cell in cells:
<td>${cell}</td>\
% endfor
</tr>\
</%def>\
