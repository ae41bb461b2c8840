/// Qwen2: Llama's layout plus q/k/v biases, and no Q/K row permutation
/// (convert_hf_to_gguf.py `Qwen2Model` does not permute).
extension ArchitectureSpec {
    public static let qwen2 = ArchitectureSpec(
        modelType: "qwen2", huggingFaceClasses: ["Qwen2ForCausalLM"], ggufName: "qwen2",
        rules: llamaRules.map { rule in
            TensorNameRule(rule.huggingFace, rule.gguf, rule.roleKind)
        } + [
            TensorNameRule("model.layers.{bid}.self_attn.q_proj.bias", "blk.{bid}.attn_q.bias", .attention),
            TensorNameRule("model.layers.{bid}.self_attn.k_proj.bias", "blk.{bid}.attn_k.bias", .attention),
            TensorNameRule("model.layers.{bid}.self_attn.v_proj.bias", "blk.{bid}.attn_v.bias", .attention),
        ],
        ignoredHuggingFaceSuffixes: [".rotary_emb.inv_freq"])
}
