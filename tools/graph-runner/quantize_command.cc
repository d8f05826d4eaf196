// graph-runner quantize: nodes/llm/quant/file_quantizer.h behind the CLI, with a summary of the
// types chosen (as llama-quantize prints them) and the sizes.
#include <iostream>
#include <map>

#include "nodes/llm/quant/file_quantizer.h"
#include "tools/graph-runner/commands.h"

namespace refinery::cli {

int QuantizeCommand(const std::string& in, const std::string& out, const std::string& type) {
  auto summary = llm::quant::QuantizeFile(in, out, type);
  if (!summary.ok()) {
    std::cerr << "quantize: " << summary.status().message() << "\n";
    return summary.status().code() == StatusCode::kInternal ? 1 : 2;
  }
  std::map<std::string, int> counts;
  for (const auto& t : summary->tensors) ++counts[llm::quant::Info(uint32_t(t.to))->name];
  std::string types;
  for (const auto& [name, n] : counts)
    types += (types.empty() ? "" : ", ") + name + " x" + std::to_string(n);
  std::cerr << "quantize: wrote " << out << " (" << type << "): " << types << "; "
            << summary->bytes_in / 1e6 << " MB -> " << summary->bytes_out / 1e6 << " MB\n";
  return 0;
}

}  // namespace refinery::cli
