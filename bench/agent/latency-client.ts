// Measures `count` sequential GETs of a URL over one keep-alive connection and prints p50/p99 (ms)
// as JSON. A process of its own, so that the benchmark's fakes and their garbage do not add noise.
import http from 'node:http';

const [url, countText] = process.argv.slice(2);
const count = Number(countText);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = () =>
  new Promise<void>((resolve, reject) => {
    http
      .get(url as string, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });

for (let i = 0; i < 500; i++) await get(); // warm up both ends
const times: number[] = [];
for (let i = 0; i < count; i++) {
  const t0 = process.hrtime.bigint();
  await get();
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
agent.destroy();
times.sort((a, b) => a - b);
const at = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
console.log(JSON.stringify({ p50: at(50), p99: at(99), max: times[times.length - 1] }));
