// Connects the npm "eventsource" package (a WHATWG-compliant EventSource)
// to the URL in argv[2] and prints one JSON line per happening on stdout:
//   {"kind":"open"}
//   {"kind":"event","type":"add","id":"3","data":"..."}
//   {"kind":"error","readyState":0|2,"code":204,"message":"..."}
//   {"kind":"closed"}            the EventSource gave up (204 or a fatal error): exit 0
//   {"kind":"timeout"}           nothing ended it within argv[3] ms: exit 2
// It reconnects on its own, as a browser would; the Go test reads the lines.
import { EventSource } from 'eventsource';

const url = process.argv[2];
const timeoutMs = Number(process.argv[3] ?? 20000);
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const es = new EventSource(url);
es.addEventListener('open', () => print({ kind: 'open' }));
for (const type of ['info', 'add', 'finish', 'message']) {
  es.addEventListener(type, (ev) => print({ kind: 'event', type, id: ev.lastEventId, data: ev.data }));
}
es.addEventListener('error', (ev) => {
  print({ kind: 'error', readyState: es.readyState, code: ev.code ?? null, message: ev.message ?? null });
  if (es.readyState === EventSource.CLOSED) {
    print({ kind: 'closed' });
    clearTimeout(timer);
    es.close();
  }
});
const timer = setTimeout(() => {
  print({ kind: 'timeout' });
  es.close();
  process.exit(2);
}, timeoutMs);
