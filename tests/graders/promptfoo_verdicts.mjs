// Verdicts for tests/graders/promptfoo_parity.jsonl, from promptfoo itself (not run in CI).
//
//   npm install promptfoo@0.121.20 --ignore-scripts   (in an empty folder, then run from it)
//   node promptfoo_verdicts.mjs < pairs.jsonl > verdicts.jsonl
//
// Reads JSONL of {output, assertion} on stdin; prints one JSONL line per pair:
// {pass, score, reason} or {error} when promptfoo's assertion throws.
import pf from 'promptfoo';
import readline from 'readline';
const { assertions } = pf;
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const lines = [];
for await (const line of rl) if (line.trim()) lines.push(line);
for (const line of lines) {
  const { output, assertion } = JSON.parse(line);
  try {
    const r = await assertions.runAssertion({ assertion, test: { vars: {} }, providerResponse: { output } });
    console.log(JSON.stringify({ pass: r.pass, score: r.score, reason: String(r.reason).slice(0, 200) }));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e && e.message || e).slice(0, 200) }));
  }
}
process.exit(0);
