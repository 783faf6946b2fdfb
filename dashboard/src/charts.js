// Charts with Apache ECharts: only the parts the pages use (line and bar charts on an SVG
// renderer, with ECharts' ARIA descriptions for screen readers). A chart lives until the page
// that drew it is left (disposeCharts).

import { BarChart, LineChart } from "echarts/charts";
import {
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
} from "echarts/components";
import * as echarts from "echarts/core";
import { SVGRenderer } from "echarts/renderers";
import { locale } from "./i18n.js";

echarts.use([
  BarChart,
  LineChart,
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  SVGRenderer,
]);

export const COLORS = { items: "#2563eb", errors: "#dc2626", bans: "#d97706", alive: "#16a34a" };

const live = new Set();
const observer = new ResizeObserver((entries) => {
  for (const entry of entries) echarts.getInstanceByDom(entry.target)?.resize();
});

/** Draw option into container (a sized element); returns the ECharts instance. */
export function chart(container, option, label) {
  const instance = echarts.init(container, null, {
    renderer: "svg",
    locale: locale().startsWith("zh") ? "ZH" : "EN",
  });
  instance.setOption({
    aria: { enabled: true, label: { description: label } },
    animation: false,
    textStyle: { fontFamily: "inherit" },
    tooltip: { trigger: "axis" },
    grid: { left: 48, right: 48, top: 36, bottom: 56 },
    ...option,
  });
  container.setAttribute("role", "img");
  if (label) container.setAttribute("aria-label", label);
  observer.observe(container);
  live.add(instance);
  return instance;
}

/** Dispose every chart drawn so far (called when the page changes). */
export function disposeCharts() {
  for (const instance of live) {
    const dom = instance.getDom();
    if (dom) observer.unobserve(dom);
    instance.dispose();
  }
  live.clear();
}

/** A time axis with a zoom slider underneath, for series of [time, value] points. */
export function timeAxis() {
  return {
    xAxis: { type: "time" },
    dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }],
  };
}
