# Drives the playground's production build in headless Chromium over the DevTools
# protocol (aiohttp, nothing else) and runs the page's own Benchmark panel once per
# case, reading the JSON its "Download JSON" button produces.
# usage: python3 drive.py CHROME_BINARY DIST_DIR OUT_DIR   (go.sh sets it up)
# Environment:
#   CASES   comma-separated PRESET:BATCH:BACKEND (default tiny:32:webgpu-composite,tiny:32:webgpu)
#   STEPS   steps of every benchmark run (60); SEEDS (1)
#   CASE_S  the longest wait for one case's table, in seconds (300)
#   WANT    a word the adapter's description must contain (nvidia; swiftshader for a VM)
# Writes OUT_DIR/bench-PRESET-bBATCH-BACKEND.json (the page's own report), cdp.log,
# summary.json (one line per case) and a screenshot per case.
import asyncio, base64, json, os, subprocess, sys, time
import aiohttp
from aiohttp import web

CH, DIST, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(OUT, exist_ok=True)
LOG = open(os.path.join(OUT, 'cdp.log'), 'a')


def log(*a):
    s = ' '.join(str(x) for x in a)
    print(s, flush=True)
    LOG.write(s + '\n')
    LOG.flush()


async def serve():
    # the headers the page needs for SharedArrayBuffer (tfjs-wasm threads), as `npm start` sends them
    async def handler(req):
        p = req.match_info.get('p') or 'index.html'
        f = os.path.realpath(os.path.join(DIST, p))
        if not f.startswith(os.path.realpath(DIST) + os.sep) or not os.path.isfile(f):
            f = os.path.join(DIST, 'index.html')
        r = web.FileResponse(f)
        r.headers['Cross-Origin-Opener-Policy'] = 'same-origin'
        r.headers['Cross-Origin-Embedder-Policy'] = 'require-corp'
        return r
    app = web.Application()
    app.router.add_get('/{p:.*}', handler)
    run = web.AppRunner(app)
    await run.setup()
    await web.TCPSite(run, '127.0.0.1', 8000).start()


class Tab:
    def __init__(self, ws):
        self.ws, self.n, self.wait, self.events = ws, 0, {}, []

    async def pump(self):
        async for m in self.ws:
            d = json.loads(m.data)
            if 'id' in d and d['id'] in self.wait:
                self.wait.pop(d['id']).set_result(d)
            elif d.get('method') == 'Runtime.consoleAPICalled':
                a = ' '.join(str(x.get('value', x.get('description', ''))) for x in d['params']['args'])
                self.events.append(f"console.{d['params']['type']}: {a[:400]}")
            elif d.get('method') == 'Runtime.exceptionThrown':
                self.events.append('exception: ' + json.dumps(d['params']['exceptionDetails'])[:600])

    async def send(self, method, params=None, timeout=60):
        self.n += 1
        f = asyncio.get_event_loop().create_future()
        self.wait[self.n] = f
        await self.ws.send_str(json.dumps({'id': self.n, 'method': method, 'params': params or {}}))
        return await asyncio.wait_for(f, timeout)

    async def js(self, expr, timeout=120):
        r = await self.send('Runtime.evaluate', {'expression': expr, 'awaitPromise': True, 'returnByValue': True}, timeout)
        res = r.get('result', {})
        if 'exceptionDetails' in res:
            return 'JS-ERROR ' + json.dumps(res['exceptionDetails'])[:400]
        return res.get('result', {}).get('value')

    async def shot(self, name):
        r = await self.send('Page.captureScreenshot', {'format': 'png'})
        open(os.path.join(OUT, name), 'wb').write(base64.b64decode(r['result']['data']))


async def launch(flags, port):
    p = subprocess.Popen([CH, '--headless', '--no-sandbox', f'--remote-debugging-port={port}', f'--user-data-dir=/tmp/ud{port}',
                          '--window-size=1400,1000', '--no-first-run', *flags, 'about:blank'],
                         stdout=open(os.path.join(OUT, f'chrome-{port}.log'), 'w'), stderr=subprocess.STDOUT)
    s = aiohttp.ClientSession()
    tabs = None
    for _ in range(150):
        try:
            async with s.get(f'http://127.0.0.1:{port}/json/list') as r:
                tabs = await r.json()
                break
        except Exception:
            await asyncio.sleep(0.2)
    if tabs is None:
        p.kill()
        await s.close()
        return None, None, None
    page = [t for t in tabs if t['type'] == 'page'][0]
    ws = await s.ws_connect(page['webSocketDebuggerUrl'], max_msg_size=0)
    tab = Tab(ws)
    asyncio.ensure_future(tab.pump())
    await tab.send('Runtime.enable')
    await tab.send('Page.enable')
    return p, s, tab


ADAPTER = """(async () => { if (!navigator.gpu) return 'no navigator.gpu';
 const a = await navigator.gpu.requestAdapter({powerPreference: 'high-performance'}); if (!a) return 'no adapter';
 const i = a.info || {}; return JSON.stringify({vendor: i.vendor, arch: i.architecture, device: i.device, desc: i.description,
 features: [...a.features].sort(), maxStorage: a.limits.maxStorageBuffersPerShaderStage}); })()"""


def q(tid):
    return f'document.querySelector(\'[data-testid="{tid}"]\')'


def setv(tid, v, kind='HTMLSelectElement', ev='change'):
    return f"""(() => {{ const el = {q(tid)}; if (!el) return 'no {tid}';
 Object.getOwnPropertyDescriptor({kind}.prototype, 'value').set.call(el, '{v}'); el.dispatchEvent(new Event('{ev}', {{bubbles: true}})); return el.value; }})()"""


def click(tid):
    return f"(() => {{ const el = {q(tid)}; if (!el) return 'no {tid}'; if (el.disabled) return 'disabled {tid}'; el.click(); return 'clicked'; }})()"


def text(tid):
    return f'(() => {{ const el = {q(tid)}; return el ? el.textContent : null; }})()'


# The report as the person downloads it: the Blob the Download button hands to the browser.
DOWNLOAD = """(async () => { const orig = URL.createObjectURL; let blob = null;
 URL.createObjectURL = (b) => { blob = b; return orig.call(URL, b); };
 try { const el = %s; if (!el) return null; el.click(); } finally { URL.createObjectURL = orig; }
 return blob ? await blob.text() : null; })()""" % q('bench-download')

DEV = ['--enable-unsafe-webgpu', '--ignore-gpu-blocklist', '--disable-gpu-sandbox']
# Chromium 156 with NVIDIA's driver 580 gave the hardware adapter with the first set
FLAGS = {
    'vulkan-angle': ['--use-angle=vulkan', '--enable-features=Vulkan', '--disable-vulkan-surface', *DEV],
    'default': [*DEV],
}


def case_url(preset, batch, backend):
    # the page's own link format: the next run's settings (and the benchmark's, same preset)
    return f'http://127.0.0.1:8000/#v=1&preset={preset}&data.dataset=synthetic&optim.batchSize={batch}&backend={backend}'


async def run_case(tab, preset, batch, backend, steps, seeds, limit):
    name = f'bench-{preset}-b{batch}-{backend}'
    await tab.send('Page.navigate', {'url': 'about:blank'})
    await asyncio.sleep(0.5)
    await tab.send('Page.navigate', {'url': case_url(preset, batch, backend)})
    for _ in range(60):
        await asyncio.sleep(1)
        badge = await tab.js(text('backend'))
        if badge and 'starting' not in badge.lower() and badge.strip() not in ('', '…'):
            break
    log(name, 'badge:', badge, '| link problems:', await tab.js(text('link-problems')))
    log(name, 'bench-preset', await tab.js(setv('bench-preset', preset)))
    log(name, 'bench-steps', await tab.js(setv('bench-steps', steps, 'HTMLInputElement', 'input')))
    log(name, 'bench-seeds', await tab.js(setv('bench-seeds', seeds, 'HTMLInputElement', 'input')))
    await asyncio.sleep(0.5)
    log(name, 'run', await tab.js(click('bench-run')))
    t0 = time.time()
    report = None
    while time.time() - t0 < limit:
        await asyncio.sleep(3)
        status = await tab.js(text('bench-status'))
        if await tab.js(f'!!{q("bench-download")}') and not status:
            report = await tab.js(DOWNLOAD)
            break
        if status and ('fail' in status.lower() or 'stopped' in status.lower() or 'could not' in status.lower()):
            log(name, 'status:', status)
            break
    log(name, f'{round(time.time() - t0)} s', 'report' if report else 'no report', await tab.js(text('bench-status')))
    await tab.shot(f'{name}.png')
    if not report:
        await tab.js(click('bench-stop'))
        return {'case': name, 'error': 'no report'}
    open(os.path.join(OUT, f'{name}.json'), 'w').write(report)
    r = json.loads(report)
    out = {'case': name, 'backend': r.get('backend'), 'device': r.get('device'), 'batchSize': r.get('batchSize')}
    for run in r.get('runs', []):
        out[f"{run.get('mode')}/{run.get('rule')}"] = {k: run.get(k) for k in
                                                      ('samplesPerSec', 'hostMsPerStep', 'deviceMsPerStep', 'dispatchesPerStep', 'memoryBytes')}
    return out


async def main():
    await serve()
    cases = [c.split(':') for c in os.environ.get('CASES', 'tiny:32:webgpu-composite,tiny:32:webgpu').split(',') if c]
    steps, seeds = os.environ.get('STEPS', '60'), os.environ.get('SEEDS', '1')
    limit = float(os.environ.get('CASE_S', '300'))
    want = os.environ.get('WANT', 'nvidia').lower()
    port, chosen = 9300, None
    for name, flags in FLAGS.items():
        port += 1
        p, s, tab = await launch(flags, port)
        if not tab:
            log(name, 'DevTools did not come up')
            continue
        await tab.send('Page.navigate', {'url': 'http://127.0.0.1:8000/favicon.svg'})
        await asyncio.sleep(1)
        info = await tab.js(ADAPTER, 60)
        log('adapter with', name, 'flags:', info)
        if info and want in str(info).lower():
            chosen = (p, s, tab)
            break
        await s.close()
        p.kill()
        p.wait()
    if not chosen:
        log(f'no adapter matching "{want}" with any flag set')
        sys.exit(1)
    p, s, tab = chosen
    summary = open(os.path.join(OUT, 'summary.json'), 'a')
    try:
        for preset, batch, backend in cases:
            res = await run_case(tab, preset, batch, backend, steps, seeds, limit)
            log(json.dumps(res))
            summary.write(json.dumps(res) + '\n')
            summary.flush()
    finally:
        for e in tab.events[-40:]:
            log(e)
        await s.close()
        p.kill()
        p.wait()

asyncio.run(main())
