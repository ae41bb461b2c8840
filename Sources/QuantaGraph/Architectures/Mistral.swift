/// Mistral uses Llama's tensor names and layout; llama.cpp writes it as architecture "llama"
/// (convert_hf_to_gguf.py registers MistralForCausalLM under LlamaModel).
extension ArchitectureSpec {
    public static let mistral = ArchitectureSpec(
        modelType: "mistral", huggingFaceClasses: ["MistralForCausalLM"], ggufName: "llama",
        rules: llamaRules, ignoredHuggingFaceSuffixes: [".rotary_emb.inv_freq"])
}
