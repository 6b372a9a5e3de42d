{
  "target_defaults": {
    "include_dirs": ["src", "../../hls/abi", "<!(node -p \"require('node-addon-api').include_dir\")"],
    "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fno-math-errno", "-fno-trapping-math"],
    "cflags_cc!": ["-fno-exceptions"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
    "libraries": ["-ldl"]
  },
  "targets": [
    {
      "target_name": "hairtrigger_native",
      "sources": ["src/binding.cc", "src/model_library.cc", "src/fpga_driver.cc", "src/fpga_binding.cc", "src/gunzip.cc", "src/gunzip_binding.cc"],
      "libraries": ["-ldeflate"]
    },
    {
      "target_name": "hairtrigger_emulator",
      "sources": ["src/emulator_binding.cc", "src/model_library.cc", "../../sim/emulator/emulator.cc"],
      "include_dirs": ["../../sim/emulator"]
    }
  ]
}
