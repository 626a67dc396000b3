// Optional native GEMM for rnnlm: cblas_sgemm from the system OpenBLAS, called on byte offsets
// into the wasm backend's shared WebAssembly.Memory (src/kernels/native.ts). The memory's
// backing store is fixed for the life of a shared memory (growing it commits more of the same
// reservation), so its base address is taken once; the BackingStore reference keeps it alive.
// Exports: setMemory(sab), sgemm(C, A, B, ldc, lda, ldb, M, N, K, transA, transB, beta),
// setThreads(n), info() -> string.
#include <cblas.h>
#include <node.h>

#include <cstdint>
#include <memory>
#include <string>

extern "C" {
// OpenBLAS extensions (declared in its cblas.h on most builds; repeated for those without).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
}

namespace {

std::shared_ptr<v8::BackingStore> store;
uint8_t* base = nullptr;
size_t capacity = 0;

void Throw(v8::Isolate* iso, const char* msg) {
  iso->ThrowException(v8::Exception::Error(v8::String::NewFromUtf8(iso, msg).ToLocalChecked()));
}

void SetMemory(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* iso = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsSharedArrayBuffer()) return Throw(iso, "setMemory: expected a SharedArrayBuffer");
  store = args[0].As<v8::SharedArrayBuffer>()->GetBackingStore();
  base = static_cast<uint8_t*>(store->Data());
  // a shared memory reserves its maximum up front; MaxByteLength covers what it may grow into
  capacity = store->MaxByteLength();
}

// C[M,N] = beta*C + op(A)·op(B), row-major, offsets in bytes; the caller (native.ts) checks
// that every operand lies inside the memory.
void Sgemm(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* iso = args.GetIsolate();
  if (!base) return Throw(iso, "sgemm: setMemory first");
  if (args.Length() < 12) return Throw(iso, "sgemm: 12 arguments expected");
  double a[12];
  for (int i = 0; i < 12; i++) a[i] = args[i].As<v8::Number>()->Value();
  float* C = reinterpret_cast<float*>(base + static_cast<size_t>(a[0]));
  const float* A = reinterpret_cast<const float*>(base + static_cast<size_t>(a[1]));
  const float* B = reinterpret_cast<const float*>(base + static_cast<size_t>(a[2]));
  const int ldc = static_cast<int>(a[3]), lda = static_cast<int>(a[4]), ldb = static_cast<int>(a[5]);
  const int M = static_cast<int>(a[6]), N = static_cast<int>(a[7]), K = static_cast<int>(a[8]);
  cblas_sgemm(CblasRowMajor, a[9] != 0 ? CblasTrans : CblasNoTrans, a[10] != 0 ? CblasTrans : CblasNoTrans,
              M, N, K, 1.0f, A, lda, B, ldb, static_cast<float>(a[11]), C, ldc);
}

void SetThreads(const v8::FunctionCallbackInfo<v8::Value>& args) {
  openblas_set_num_threads(static_cast<int>(args[0].As<v8::Number>()->Value()));
}

void Info(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* iso = args.GetIsolate();
  std::string s = std::string(openblas_get_config()) + "; threads " + std::to_string(openblas_get_num_threads());
  args.GetReturnValue().Set(v8::String::NewFromUtf8(iso, s.c_str()).ToLocalChecked());
}

void Init(v8::Local<v8::Object> exports, v8::Local<v8::Value>, void*) {
  NODE_SET_METHOD(exports, "setMemory", SetMemory);
  NODE_SET_METHOD(exports, "sgemm", Sgemm);
  NODE_SET_METHOD(exports, "setThreads", SetThreads);
  NODE_SET_METHOD(exports, "info", Info);
}

}  // namespace

NODE_MODULE(NODE_GYP_MODULE_NAME, Init)
