// web_page.mjs — the web chat page (apps/web/index.html, served at / by
// `wasmind serve`) in headless Chromium, driven by playwright-core (pinned
// in tests/server/web/package-lock.json; run.sh installs it with `npm ci`):
//   node web_page.mjs NODE_MODULES BASE_URL SCREENSHOT.png
//   env WANT_CHAT: the greedy content for "Once upon a time" (temperature 0,
//   max_tokens 48); CHROMIUM: the browser (/usr/bin/chromium)
// It sets temperature 0 and max tokens 48 in the page, types "Once upon a
// time" and presses Enter: the request is the same chat request run.sh
// checks, the assistant text must grow in place (several distinct partial
// texts, each a prefix of the next) and end equal to WANT_CHAT. A second
// turn is typed and sent with the Send button: its streamed text must equal
// what a non-streaming request with the same messages and parameters
// returns. Then a screenshot. Prints one "ok NAME" or "FAIL NAME: detail"
// line per check (9 when it finishes).
import { createRequire } from "node:module";
import { statSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

const [modules, base, shot] = process.argv.slice(2);
const want = process.env.WANT_CHAT;
let browser = null;

function report(name, detail) {
  if (detail === true) console.log(`ok ${name}`);
  else console.log(`FAIL ${name}: ${detail}`);
}
async function check(name, fn) {
  try {
    report(name, await fn());
  } catch (e) {
    report(name, String(e && e.message).split("\n")[0]);
  }
}
async function close() {
  const b = browser;
  browser = null;
  if (!b) return;
  let t;
  await Promise.race([b.close().catch(() => {}),
                      new Promise(r => { t = setTimeout(r, 5000); })]);
  clearTimeout(t);
}
// Whatever happens, the browser goes away: a watchdog below run.sh's own
// timeout, and the signals timeout(1) sends.
const watchdog = setTimeout(async () => {
  console.log("FAIL watchdog: the page test did not finish in 45 s");
  await close();
  process.exit(1);
}, 45000);
for (const sig of ["SIGTERM", "SIGINT"])
  process.on(sig, async () => { await close(); process.exit(1); });

const ASSISTANT_TEXT = `i => {
  const d = document.querySelectorAll(".msg.assistant")[i];
  if (!d) return null;
  let t = "";
  for (const n of d.childNodes) if (n.nodeType === 3) t += n.data;
  return t;
}`;

// Send one message and wait for its streamed answer; returns
// { body: the request body the page sent, text: the final assistant text }.
async function turn(page, i, text, how) {
  const reqP = page.waitForRequest(r => r.url().endsWith("/v1/chat/completions") &&
                                        r.method() === "POST", { timeout: 10000 });
  await page.locator("#input").pressSequentially(text, { delay: 5 });
  if (how === "enter") await page.locator("#input").press("Enter");
  else await page.locator("#send").click();
  const req = await reqP;
  // Done: the usage line is appended and Send is enabled again.
  await page.waitForFunction(n => document.querySelectorAll(".msg.assistant .stats").length === n &&
                                  !document.getElementById("send").disabled,
                             i + 1, { timeout: 30000 });
  return { body: req.postDataJSON(), text: await page.evaluate(`(${ASSISTANT_TEXT})(${i})`) };
}

try {
  const require = createRequire(resolve(modules) + "/");
  const { chromium } = require("playwright-core");
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--disable-extensions"],
    timeout: 30000,
  });
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  const errors = [];
  page.on("pageerror", e => errors.push("pageerror: " + e.message));
  // (A 404 is reported by its URL below: the browser's own /favicon.ico
  // request is the one allowed.)
  page.on("console", m => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource"))
      errors.push("console: " + m.text());
  });
  page.on("response", r => {
    if (r.status() >= 400 && !r.url().endsWith("/favicon.ico"))
      errors.push(`${r.status()} ${r.url()}`);
  });
  page.on("requestfailed", r => errors.push(`failed ${r.url()}: ${r.failure().errorText}`));
  page.setDefaultTimeout(15000);

  await check("page loads: title, model name from /v1/models", async () => {
    const r = await page.goto(base + "/", { waitUntil: "load" });
    await page.waitForFunction(() => document.getElementById("model").textContent !== "…");
    const title = await page.title(), model = await page.locator("#model").textContent();
    return (r.status() === 200 && title === "wasmind chat" && model === "stories260K.gguf") ||
      JSON.stringify({ status: r.status(), title, model });
  });

  // Every text the first assistant bubble shows, as it is set: the page
  // replaces the bubble's text node on each delta (out.textContent = answer).
  await page.evaluate(() => {
    window.__states = [];
    new MutationObserver(recs => {
      for (const rec of recs)
        if (rec.target.classList && rec.target.classList.contains("assistant") &&
            rec.target === document.querySelector(".msg.assistant"))
          for (const n of rec.addedNodes)
            if (n.nodeType === 3) window.__states.push(n.data);
    }).observe(document.getElementById("log"), { childList: true, subtree: true });
  });
  await page.locator("#temp").fill("0");
  await page.locator("#maxtok").fill("48");

  let t1 = null;
  await check("typed message + Enter: the request sent", async () => {
    t1 = await turn(page, 0, "Once upon a time", "enter");
    const b = t1.body;
    return (JSON.stringify(b.messages) === JSON.stringify([{ role: "user", content: "Once upon a time" }]) &&
            b.stream === true && b.temperature === 0 && b.max_tokens === 48) || JSON.stringify(b);
  });
  await check("streamed answer = greedy content (WANT_CHAT)", async () =>
    (t1 && t1.text.length > 0 && t1.text === want) || JSON.stringify({ got: t1 && t1.text, want }));
  await check("answer shown incrementally (>= 2 distinct partial texts, growing)", async () => {
    const states = await page.evaluate(() => window.__states);
    const fin = t1 ? t1.text : "";
    const partial = [...new Set(states.filter(s => s.length > 0 && s !== fin))];
    const growing = states.every((s, k) => k === 0 || s.startsWith(states[k - 1]));
    return (partial.length >= 2 && growing && states[states.length - 1] === fin) ||
      JSON.stringify({ n_partial: partial.length, growing, states: states.slice(0, 5) });
  });

  let t2 = null;
  await check("second turn (Send button): the conversation sent", async () => {
    t2 = await turn(page, 1, "Tell me more", "click");
    const m = t2.body.messages;
    return (m.length === 3 && m[1].role === "assistant" && m[1].content === t1.text &&
            m[2].content === "Tell me more") || JSON.stringify(m);
  });
  await check("second answer = non-streaming answer to the same request", async () => {
    const body = { ...t2.body, stream: false };
    delete body.stream_options;
    const r = await fetch(base + "/v1/chat/completions", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body), signal: AbortSignal.timeout(20000),
    });
    const j = await r.json();
    const c = j.choices && j.choices[0].message.content;
    return (r.status === 200 && c.length > 0 && t2.text === c) ||
      JSON.stringify({ status: r.status, page: t2.text, api: c });
  });
  await check("usage line shown", async () => {
    const s = await page.locator(".msg.assistant .stats").first().textContent();
    return /^\d+ prompt \+ \d+ tokens, [\d.]+ tokens\/s$/.test(s) || s;
  });
  await check("no errors on the page", async () => {
    const shown = await page.locator(".msg.error").allTextContents();
    return (errors.length === 0 && shown.length === 0) || JSON.stringify([...errors, ...shown]);
  });
  await check("screenshot", async () => {
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    return (statSync(shot).size > 1000 && png.readUInt32BE(0) === 0x89504e47) || "not a PNG";
  });
} catch (e) {
  console.log(`FAIL browser: ${String(e && e.message).split("\n")[0]}`);
} finally {
  await close();
  clearTimeout(watchdog);
}
