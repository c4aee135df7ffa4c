// CBaseline: plain C loops over the same ioctls as GmemKit's hot paths, used only by
// `gmem bench` and Benchmarks/ to report every figure as a ratio against C in the same run.
#ifndef CBASELINE_H
#define CBASELINE_H
#endif
