// PNG copies of the plots (for pasting into an issue), rasterised by resvg from the same SVG
// the page inlines. resvg-js ships prebuilt binaries per platform: nothing is compiled.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Resvg } from "@resvg/resvg-js";

/** Twice the SVG's own size, so text stays sharp on a high-density screen. */
const SCALE = 2;

export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: SCALE },
    font: {
      loadSystemFonts: true,
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
    },
  });
  return resvg.render().asPng();
}

/** Writes `<dir>/<id>.png` for each plot; returns the paths written. */
export async function writePngs(
  dir: string,
  plots: ReadonlyArray<{ id: string; svg: string }>,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const p of plots) {
    const path = join(dir, `${p.id}.png`);
    await writeFile(path, svgToPng(p.svg));
    paths.push(path);
  }
  return paths;
}
