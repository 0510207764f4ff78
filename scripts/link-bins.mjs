// Links the package's own bins into node_modules/.bin, so that `npx rafttoy-leader ...`
// works inside the checkout after `make build`, as it would after an install.
import { chmodSync, readFileSync, rmSync, symlinkSync } from "node:fs";

const { bin } = JSON.parse(readFileSync("package.json", "utf8"));
for (const [name, file] of Object.entries(bin)) {
  chmodSync(file, 0o755);
  const link = `node_modules/.bin/${name}`;
  rmSync(link, { force: true });
  symlinkSync(`../../${file}`, link);
}
