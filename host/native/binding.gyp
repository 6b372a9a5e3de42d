{
  "targets": [
    {
      "target_name": "hairtrigger_native",
      "sources": ["src/binding.cc"],
      "include_dirs": ["src"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
