{
  "//": "Optional native GEMM over the system OpenBLAS (Debian: libopenblas-dev). Built only by `npm run build:native`; nothing else needs it.",
  "targets": [
    {
      "target_name": "rnnlm_blas",
      "sources": ["blas.cc"],
      "cflags_cc": ["-O2", "-std=c++17"],
      "libraries": ["-lopenblas"]
    }
  ]
}
