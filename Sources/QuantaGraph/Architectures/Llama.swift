/// Llama family tables. GGUF names follow gguf-py `tensor_mapping.py` / `MODEL_TENSORS[LLAMA]`;
/// Q and K are row-permuted by convert_hf_to_gguf.py `LlamaModel.permute`.
extension ArchitectureSpec {
    static let llamaRules: [TensorNameRule] = [
        TensorNameRule("model.embed_tokens.weight", "token_embd.weight", .embedding),
        TensorNameRule("model.layers.{bid}.input_layernorm.weight", "blk.{bid}.attn_norm.weight", .attention),
        TensorNameRule("model.layers.{bid}.self_attn.q_proj.weight", "blk.{bid}.attn_q.weight", .attention, permutation: .query),
        TensorNameRule("model.layers.{bid}.self_attn.k_proj.weight", "blk.{bid}.attn_k.weight", .attention, permutation: .key),
        TensorNameRule("model.layers.{bid}.self_attn.v_proj.weight", "blk.{bid}.attn_v.weight", .attention),
        TensorNameRule("model.layers.{bid}.self_attn.o_proj.weight", "blk.{bid}.attn_output.weight", .attention),
        TensorNameRule("model.layers.{bid}.post_attention_layernorm.weight", "blk.{bid}.ffn_norm.weight", .mlp),
        TensorNameRule("model.layers.{bid}.mlp.gate_proj.weight", "blk.{bid}.ffn_gate.weight", .mlp),
        TensorNameRule("model.layers.{bid}.mlp.up_proj.weight", "blk.{bid}.ffn_up.weight", .mlp),
        TensorNameRule("model.layers.{bid}.mlp.down_proj.weight", "blk.{bid}.ffn_down.weight", .mlp),
        TensorNameRule("model.norm.weight", "output_norm.weight", .norm),
        TensorNameRule("lm_head.weight", "output.weight", .lmHead),
    ]

    public static let llama = ArchitectureSpec(
        modelType: "llama", huggingFaceClasses: ["LlamaForCausalLM"], ggufName: "llama",
        rules: llamaRules, ignoredHuggingFaceSuffixes: [".rotary_emb.inv_freq"])
}
