# Summarises an ab.sh folder in a few lines (a GPU machine may hand back only a few files): for each
# run's JSON, the full and LoRA runs' device and host ms a step, samples/s, peak MB and the
# linear kernels' device ms a step by kind (wg: weight gradients, wgs: their sums, fwd,
# ig: input gradients), the LayerNorms' (lnf: forwards, lnb: backwards, lnp: their
# parameter sums) and attention's (af: forwards, aq: query gradients, akv: key/value gradients,
# ab: the tiled backward's, all three in one launch); then every run's full phase (the full run's and the PreLoRA runs'),
# their mean and each run's test accuracy; then the first block's weight gradients and
# sums, us a launch.
#   python3 ab-summary.py OUTDIR
import glob, json, os, sys

KINDS = [('wg', 'linear.weight-grad'), ('wgs', 'linear.weight-grad-sum'), ('fwd', 'linear.forward'), ('ig', 'linear.input-grad'),
         ('lnf', 'layernorm.forward'), ('lnb', 'layernorm.backward'), ('lnp', 'layernorm.param-grad-sum'),
         ('af', 'attention.forward'), ('aq', 'attention.backward-q'), ('akv', 'attention.backward-kv'), ('ab', 'attention.backward')]

for f in sorted(glob.glob(os.path.join(sys.argv[1], '*.json'))):
    try:
        r = json.load(open(f))
    except ValueError as e:
        print(os.path.basename(f), 'unreadable:', e)
        continue
    runs = {x['mode']: x for x in r['runs'] if x['mode'] in ('full', 'lora')}
    parts = []
    for ph, run in runs.items():
        by = run['deviceMsByKind'][ph]
        kinds = ' '.join('%s %.3f' % (k, by.get(name, 0)) for k, name in KINDS)
        parts.append('%s dev %.3f host %.2f sps %.0f peak %.0fMB %s' % (ph, run['deviceMsPerStep'][ph], run['hostMsPerStep'][ph], run['samplesPerSec'][ph], run['memoryBytes']['peak'] / 1e6, kinds))
    print(os.path.basename(f), ' | '.join(parts))
    fulls = [x['deviceMsPerStep']['full'] for x in r['runs'] if x['deviceMsPerStep'].get('full')]
    if fulls:
        print('   full phases', ' '.join('%.3f' % d for d in fulls), 'mean %.3f' % (sum(fulls) / len(fulls)),
              '| accuracy', ' '.join('%s %.4f' % (x['mode'], x['accuracy']['mean']) for x in r['runs']))
    if 'full' in runs:
        block = [x for x in runs['full']['deviceMsByLaunch']['full'] if x['kind'] in ('linear.weight-grad', 'linear.weight-grad-sum') and x['module'] and 'layer.0.' in x['module']]
        print('   block 0', ' '.join('%s:%s %.1f' % ('.'.join(x['module'].split('.')[-2:]), 'S' if x['kind'].endswith('sum') else 'W', 1000 * x['ms']) for x in block))
