// web_sse.mjs — the web page's own stream reader (the `sse` generator in
// apps/web/index.html, taken from the page's source) run by node against
// the server: fetch + ReadableStream over POST /v1/chat/completions with
// "stream": true must yield deltas that concatenate to WANT_CHAT.
//   node web_sse.mjs INDEX.HTML BASE_URL      prints "ok" or "FAIL: ..."
import { readFileSync } from "node:fs";

const html = readFileSync(process.argv[2], "utf8");
const m = html.match(/async function\* sse\(body\) \{[\s\S]*?\n\}\n/);
if (!m) {
  console.log("FAIL: no sse() in the page");
  process.exit(0);
}
const sse = (0, eval)("(" + m[0] + ")");
try {
  const r = await fetch(process.argv[3] + "/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      messages: [{ role: "user", content: "Once upon a time" }],
      temperature: 0, max_tokens: 48, stream: true,
      stream_options: { include_usage: true },
    }),
  });
  let text = "", done = false, usage = null;
  for await (const data of sse(r.body)) {
    if (data === "[DONE]") { done = true; break; }
    const j = JSON.parse(data);
    if (j.usage) usage = j.usage;
    const d = j.choices[0] && j.choices[0].delta;
    if (d && d.content) text += d.content;
  }
  const want = process.env.WANT_CHAT;
  console.log(done && usage && text === want ? "ok"
              : "FAIL: " + JSON.stringify({ done, usage, text, want }));
} catch (e) {
  console.log("FAIL: " + e.message);
}
