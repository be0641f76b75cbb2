// The GraphQL-over-HTTP conformance audit of graphql-http (auditServer), against a running server.
// node audit.mjs <url> [token]; prints one JSON line per result: {status: ok|warn|error|notice, id, name, reason}.
import { createRequire } from "node:module";

const require = createRequire(process.env.KC_NODE_MODULES + "/");
const { auditServer } = require("graphql-http");

const [url, token] = process.argv.slice(2);
const fetchWithToken = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  if (token) headers.set("authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn: fetchWithToken });
for (const r of results) {
  const line = { status: r.status, id: r.id, name: r.name };
  if (r.status !== "ok") line.reason = r.reason;
  console.log(JSON.stringify(line));
}
