// Parses an AsyncAPI document with the official parser (vendored bundle); exits 1 on any error.
// Usage: node parse.cjs <asyncapi.json>
const fs = require("fs");
const path = require("path");

// The bundle is built for browsers and looks for their global object.
globalThis.window = globalThis.window || globalThis;

(async () => {
  const lib = require(path.join(__dirname, "asyncapi-parser-3.6.6.browser.js"));
  const Parser = lib.Parser || lib.default || lib;
  const input = fs.readFileSync(process.argv[2], "utf8");
  const { document, diagnostics } = await new Parser().parse(input);
  const errors = diagnostics.filter((d) => d.severity === 0);
  for (const d of errors) console.log(`${d.code} at ${d.path.join("/")}: ${d.message}`);
  process.exit(errors.length || !document ? 1 : 0);
})().catch((error) => {
  console.log(`parser failed: ${String(error && error.message).slice(0, 500)}`);
  process.exit(2);
});
