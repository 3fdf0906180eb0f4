// Bench reports side by side, each one variant of an A/B (a bundle, a tuning flag): the
// device ms a step of the full phase (the `full` run's, as the bench table's full row)
// and the LoRA phase (the static `lora` run's), their ratio, launches, peak memory and
// samples/s; then, where the reports were timed launch by launch, the device ms by what
// the launches work on. Pure (the CLI prints it): the reading every kernel A/B needs,
// taken the same way each time.
import {
  figure, LAUNCH_GROUPS, LAUNCH_GROUPS_TITLE, launchGroupSums, launchGroupTotal, markdownTable, ratio, runOf, type BenchReport, type LaunchGroup,
} from './report';

/** Bytes as the bench's MB (10^6), null where not measured. */
const mb = (bytes: number | null | undefined) => (bytes == null ? null : bytes / 1e6);

/** A report under the name an A/B gives its variant. */
export interface Variant { name: string; report: BenchReport }

/** A row a variant: device ms full and LoRA, full / LoRA, launches, peak MB and samples/s of the two phases. */
export function abRows(vs: Variant[]): string[][] {
  const header = ['variant', 'device ms full', 'device ms LoRA', 'full / LoRA', 'launches full / LoRA', 'peak MB full / LoRA', 'samples/s full / LoRA'];
  return [header, ...vs.map(({ name, report }) => {
    const f = runOf(report, 'full');
    const l = runOf(report, 'lora');
    return [
      name, figure(f?.deviceMsPerStep.full, 3), figure(l?.deviceMsPerStep.lora, 3), figure(ratio(f?.deviceMsPerStep.full, l?.deviceMsPerStep.lora), 3, 'x'),
      `${figure(f?.dispatchesPerStep.full, 0)} / ${figure(l?.dispatchesPerStep.lora, 0)}`,
      `${figure(mb(f?.memoryBytes.peak), 0)} / ${figure(mb(l?.memoryBytes.peak), 0)}`,
      `${figure(f?.samplesPerSec.full, 0)} / ${figure(l?.samplesPerSec.lora, 0)}`,
    ];
  })];
}

/**
 * Device ms by what the launches work on (launchGroup), each variant's full and LoRA
 * phase side by side, the groups any variant has, the total last; null where no variant
 * was timed launch by launch.
 */
export function abGroupRows(vs: Variant[]): string[][] | null {
  const sums = vs.map(({ report }) => [
    launchGroupSums(runOf(report, 'full')?.deviceMsByLaunch?.full), launchGroupSums(runOf(report, 'lora')?.deviceMsByLaunch?.lora),
  ]);
  if (sums.every((s) => s.every((m) => !m))) return null;
  const cells = (g: (m: Map<LaunchGroup, number>) => number) => sums.flatMap((s) => s.map((m) => figure(m && g(m), 2)));
  const present = LAUNCH_GROUPS.filter((g) => sums.some((s) => s.some((m) => (m?.get(g) ?? 0) > 0)));
  return [
    ['launches of', ...vs.flatMap((v) => [`${v.name} full`, `${v.name} LoRA`])],
    ...present.map((g) => [g, ...cells((m) => m.get(g)!)]),
    ['total', ...cells(launchGroupTotal)],
  ];
}

/** Both tables as markdown, each under a line saying what it is. */
export function abTable(vs: Variant[]): string {
  const groups = abGroupRows(vs);
  return [
    'Device ms per step: the full run\'s full phase and the static LoRA run\'s LoRA phase', '', ...markdownTable(abRows(vs)),
    ...(groups ? ['', LAUNCH_GROUPS_TITLE, '', ...markdownTable(groups)] : []),
  ].join('\n');
}
