{
  "targets": [
    {
      "target_name": "hairtrigger_native",
      "sources": ["src/binding.cc", "src/model_library.cc", "src/fpga_driver.cc", "src/fpga_binding.cc", "src/emulator_binding.cc", "../../sim/emulator/emulator.cc"],
      "include_dirs": ["src", "../../hls/abi", "../../sim/emulator", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fno-math-errno", "-fno-trapping-math"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "libraries": ["-ldl"]
    }
  ]
}
