## A bar chart as inline SVG from charts.Chart (geometry computed there), and
## the key of a stacked chart's colours.
<%!
    from bot.console.charts import CHART_HEIGHT, CHART_WIDTH, LABELS_Y, PLOT_LEFT, PLOT_RIGHT, Bar
%>\
<%def name="chart_svg(chart)">\
<svg class="chart-svg" id="${chart.id}" viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" role="img" \
aria-labelledby="${chart.id}-title ${chart.id}-desc" xmlns="http://www.w3.org/2000/svg">\
<title id="${chart.id}-title">${chart.title}</title><desc id="${chart.id}-desc">${chart.description}</desc>\
<text x="${PLOT_LEFT}" y="16" class="chart-title" font-size="14" fill="#111827">${chart.title}</text>\
% for tick in chart.ticks:
<line x1="${PLOT_LEFT}" x2="${CHART_WIDTH - PLOT_RIGHT}" y1="${"%.1f" % tick.y}" y2="${"%.1f" % tick.y}" \
stroke="#e5e7eb" stroke-width="1"/>\
<text x="${PLOT_LEFT - 6}" y="${"%.1f" % (tick.y + 4)}" text-anchor="end" font-size="11" \
fill="#6b7280">${tick.text}</text>\
% endfor
% for mark in chart.marks:
% if isinstance(mark, Bar):
<rect x="${"%.1f" % mark.x}" y="${"%.1f" % mark.y}" width="${"%.1f" % mark.width}" height="${"%.1f" % mark.height}" \
fill="${mark.colour}"\
% if mark.value is not None:
 data-value="${mark.value}"\
% endif
><title>${mark.title}</title></rect>\
% else:
<text x="${"%.1f" % mark.x}" y="${"%.1f" % mark.y}" text-anchor="middle" font-size="11" \
fill="#111827" class="bar-value">${mark.text}</text>\
% endif
% endfor
% for label in chart.labels:
<text x="${"%.1f" % label.x}" y="${LABELS_Y}" text-anchor="middle" \
font-size="11" fill="#374151">${label.text}</text>\
% endfor
</svg>\
</%def>\
<%def name="legend(series)">\
% if series:
<ul class="legend">\
% for name, key in series:
<li><span class="swatch swatch-${key}" aria-hidden="true"></span>${name}</li>\
% endfor
</ul>\
% endif
</%def>\
