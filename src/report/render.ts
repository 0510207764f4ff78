// Vega-Lite specification → Vega → SVG text, in this process: vega's headless view with its
// SVG string renderer, so no canvas package, no native build and no browser is involved.
import * as vega from "vega";
import type { TopLevelSpec } from "vega-lite";
import { compile } from "vega-lite";

/** Every plot carries its data inline; a loader that refuses guarantees nothing is fetched. */
const NO_NETWORK_LOADER = vega.loader();
const refuse = async (uri: string): Promise<never> => {
  throw new Error(`the report loads nothing from outside (asked for ${uri})`);
};
NO_NETWORK_LOADER.load = refuse;
NO_NETWORK_LOADER.http = refuse;
NO_NETWORK_LOADER.file = refuse;

/** Shared look: a plain sans-serif font (the system's), light grid, legend at the right. */
const CONFIG: TopLevelSpec["config"] = {
  font: "sans-serif",
  background: "white",
  axis: { gridColor: "#e6e6e6", labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 360 },
  header: { labelFontSize: 12 },
};

export interface RenderedSvg {
  svg: string;
  /** Vega-Lite's complaints about the specification (none for a well-formed plot). */
  warnings: string[];
}

/** Vega-Lite's logger interface, collecting instead of printing. */
function collectingLogger(into: string[]) {
  let level = 2;
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error: (...args: readonly unknown[]) => {
      into.push(args.map(String).join(" "));
      return logger;
    },
    warn: (...args: readonly unknown[]) => {
      into.push(args.map(String).join(" "));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  return logger;
}

/** Renders one specification to a standalone SVG document (a string). */
export async function renderSvg(spec: TopLevelSpec): Promise<RenderedSvg> {
  const warnings: string[] = [];
  const { spec: vegaSpec } = compile(
    { ...spec, config: { ...CONFIG, ...spec.config } },
    { logger: collectingLogger(warnings) },
  );
  const view = new vega.View(vega.parse(vegaSpec), {
    renderer: "none",
    loader: NO_NETWORK_LOADER,
    logLevel: vega.Error,
  });
  try {
    return { svg: await view.toSVG(), warnings };
  } finally {
    view.finalize();
  }
}
