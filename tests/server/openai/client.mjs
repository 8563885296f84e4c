// client.mjs — the official `openai` npm client (pinned in package.json /
// package-lock.json) against llama-api-server.wasm: models, chat (plain
// and streaming), completions, embeddings, an API error. Run by tests/server/run.sh
// from a copy of this directory where `npm ci` installed the package:
//   node client.mjs BASE_URL   (env WANT_CHAT, WANT_CMPL: expected texts;
//   WANT_EMBD: `wasmind llm embed` output for "Once upon a time")
// Prints one "ok NAME" or "FAIL NAME: detail" line per check.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "none", maxRetries: 0, timeout: 20000 });
const wantChat = process.env.WANT_CHAT, wantCmpl = process.env.WANT_CMPL;
const messages = [{ role: "user", content: "Once upon a time" }];

async function check(name, fn) {
  try {
    const detail = await fn();
    console.log(detail === true ? `ok ${name}` : `FAIL ${name}: ${detail}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e && e.message}`);
  }
}

await check("models.list", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  return ids.length === 1 && ids[0] === "stories260K.gguf" || JSON.stringify(ids);
});
await check("chat.completions.create", async () => {
  const r = await client.chat.completions.create({ model: "stories", messages, temperature: 0, max_tokens: 48 });
  const c = r.choices[0].message.content;
  return (c === wantChat && r.usage.completion_tokens > 0 && r.object === "chat.completion") ||
    JSON.stringify({ got: c, want: wantChat });
});
await check("chat.completions.create stream", async () => {
  const s = await client.chat.completions.create({
    model: "stories", messages, temperature: 0, max_tokens: 48, stream: true,
    stream_options: { include_usage: true },
  });
  let text = "", usage = null, finish = null;
  for await (const ch of s) {
    if (ch.usage) usage = ch.usage;
    if (ch.choices.length) {
      text += ch.choices[0].delta.content || "";
      finish = ch.choices[0].finish_reason || finish;
    }
  }
  return (text === wantChat && !!usage && usage.prompt_tokens > 0 && !!finish) ||
    JSON.stringify({ text, want: wantChat, usage, finish });
});
await check("completions.create", async () => {
  const r = await client.completions.create({ model: "stories", prompt: "The dog", max_tokens: 30, temperature: 0 });
  return r.choices[0].text === wantCmpl || JSON.stringify({ got: r.choices[0].text, want: wantCmpl });
});
await check("completions.create stream", async () => {
  const s = await client.completions.create({ model: "stories", prompt: "The dog", max_tokens: 30, temperature: 0, stream: true });
  let text = "";
  for await (const ch of s) text += ch.choices[0].text;
  return text === wantCmpl || JSON.stringify({ text, want: wantCmpl });
});
const wantEmbd = JSON.parse(process.env.WANT_EMBD || "{}").embedding || [];
const sameF32 = (a, b) => a.length === b.length && a.every((x, i) => Math.fround(x) === Math.fround(b[i]));
await check("embeddings.create (client default: base64)", async () => {
  const r = await client.embeddings.create({ model: "stories", input: "Once upon a time" });
  const v = r.data[0].embedding;
  return (r.object === "list" && r.data.length === 1 && sameF32(v, wantEmbd) && r.usage.prompt_tokens > 0) ||
    JSON.stringify({ got: v.slice(0, 4), want: wantEmbd.slice(0, 4), usage: r.usage });
});
await check("embeddings.create float, two inputs", async () => {
  const r = await client.embeddings.create({ model: "stories", input: ["The dog", "Once upon a time"], encoding_format: "float" });
  const [a, b] = r.data;
  const norm = Math.hypot(...a.embedding);
  return (a.index === 0 && b.index === 1 && sameF32(b.embedding, wantEmbd) && Math.abs(norm - 1) < 1e-5 &&
          !sameF32(a.embedding, b.embedding)) || JSON.stringify({ n: r.data.length, norm });
});
await check("API error", async () => {
  try {
    await client.chat.completions.create({ model: "stories", messages, temperature: 9 });
    return "no error";
  } catch (e) {
    return (e instanceof OpenAI.APIError && e.status === 400 && e.code === "invalid_value" &&
            e.param === "temperature") || `${e.status} ${e.code} ${e.message}`;
  }
});
