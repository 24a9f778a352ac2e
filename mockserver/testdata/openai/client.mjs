// Streams one chat completion from the ssebench mock server with the
// official OpenAI client, used as its README shows: the client reads
// OPENAI_BASE_URL and OPENAI_API_KEY from the environment, and the stream
// is consumed by async iteration. Prints one JSON line per chunk the
// client yields, then {"kind":"done"}; an error becomes {"kind":"error"}
// and exit code 1. Started by mockserver/openai_test.go.
//
// Usage: node client.mjs MAX_TOKENS SEED
import OpenAI from "openai";

const [maxTokens, seed] = process.argv.slice(2).map(Number);
const client = new OpenAI({ maxRetries: 0, timeout: 30_000 });

try {
  const stream = await client.chat.completions.create({
    model: "ssebench-mock",
    messages: [{ role: "user", content: "Say something, mock." }],
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: maxTokens,
    seed,
  });
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    console.log(JSON.stringify({
      kind: "chunk",
      id: chunk.id,
      created: chunk.created,
      object: chunk.object,
      role: choice?.delta?.role ?? null,
      content: choice?.delta?.content ?? null,
      finish_reason: choice?.finish_reason ?? null,
      usage: chunk.usage ?? null,
    }));
  }
  console.log(JSON.stringify({ kind: "done" }));
} catch (err) {
  console.log(JSON.stringify({ kind: "error", name: err?.name, status: err?.status ?? null, message: String(err?.message ?? err) }));
  process.exitCode = 1;
}
