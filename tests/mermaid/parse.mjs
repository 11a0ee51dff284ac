// Parse Mermaid diagrams with Mermaid's own parser. Input on stdin: a JSON array of diagram texts.
// Output on stdout: a JSON array, one entry per diagram: {"type": "..."} or {"error": "..."}.
// Mermaid's flowchart parser sanitises labels with DOMPurify, which needs a DOM: jsdom gives one.
import { JSDOM } from 'jsdom';

const dom = new JSDOM('');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

let input = '';
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const text of JSON.parse(input)) {
  try {
    const result = await mermaid.parse(text);
    out.push({ type: result.diagramType });
  } catch (e) {
    out.push({ error: String(e && e.message ? e.message : e) });
  }
}
process.stdout.write(JSON.stringify(out));
