import { useEffect, useRef } from 'react';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';

/* The one place that holds a uPlot: made once per set of series, fed new data, sized to its box. */

export interface UPlotChartProps {
  /** Options without width: the chart takes its container's width. */
  options: Omit<Options, 'width'>;
  data: AlignedData;
  /** Makes a new chart when it changes (the series drawn, not their values). */
  shape: string;
  /** The time shown, Unix seconds: the whole range asked for, even where no sample is yet. */
  xRange: [number, number];
  label: string;
  testId?: string;
}

export function UPlotChart({ options, data, shape, xRange, label, testId }: UPlotChartProps) {
  const box = useRef<HTMLDivElement | null>(null);
  const chart = useRef<uPlot | null>(null);
  const latest = useRef(data);
  latest.current = data;
  const window = useRef(xRange);
  window.current = xRange;

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new chart only when the series drawn change (shape); new values go through setData below.
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const scales = { ...options.scales, x: { time: true, range: (): uPlot.Range.MinMax => window.current } };
    const made = new uPlot({ ...options, scales, width: Math.max(200, element.clientWidth) }, latest.current, element);
    chart.current = made;
    const observer = new ResizeObserver(() => {
      const width = Math.max(200, element.clientWidth);
      if (width !== made.width) made.setSize({ width, height: options.height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      made.destroy();
      chart.current = null;
    };
  }, [shape]);

  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);

  return <div className="metrics-plot" ref={box} role="img" aria-label={label} data-testid={testId} />;
}
