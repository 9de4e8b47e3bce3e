#pragma once
// A differentiable LLaMA for training: the architecture's own block forward (model/llama.h)
// in its autograd mode, so what is trained is exactly what is evaluated:
//   ids (B,T) --embed--> h (B,T,C) --L blocks--> rms --lm_head--> logits (B,T,V)
// Parameters are plain fp32 tensors with requires_grad, named as in a Hugging Face
// checkpoint ("model.layers.0.self_attn.q_proj.weight", ...), so saving the model is
// writeLlamaCheckpoint(dir, config, stateDict()) and Model reads it back.

#include "model/architecture.h"
#include "model/config.h"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ptq {

class LlamaTrainModel {
public:
    // Validates the config (ptq::Error naming "model config" and the key) and draws the
    // initial weights from `seed`, tensor by tensor in the block layout's order: N(0, 0.02)
    // for linears, routers and embeddings, the residual writers (o_proj, down_proj, every
    // expert's down projection) scaled by 1/sqrt(2 * layers) (GPT-2), norms 1, biases 0.
    LlamaTrainModel(const ModelConfig& config, uint64_t seed);

    const ModelConfig& config() const { return m_config; }

    // (B,T) integer ids -> (B,T,V) fp32 logits, recording the graph when grad mode is on.
    // `route` (when given) sees every MoE router's logits and choices.
    torch::Tensor forward(const torch::Tensor& ids, const RouterObserver* route = nullptr) const;
    // Mean next-token NLL (nats) of windows (B,T+1): inputs [:, :T], targets [:, 1:].
    torch::Tensor loss(const torch::Tensor& windows) const;
    // What the optimizer minimises, and the NLL part of it: for a Mixture of Experts the NLL
    // plus router_aux_loss_coef times the load-balancing loss of Switch/Mixtral
    // (transformers' load_balancing_loss_func: over the router logits of every layer,
    // E * sum_e f_e P_e with f_e the share of top-k assignments and P_e the mean router
    // probability of expert e); the NLL alone otherwise.
    std::pair<torch::Tensor, torch::Tensor> trainingLoss(const torch::Tensor& windows) const;

    // In a fixed order (embedding, blocks in order, final norm, head): the optimizer state
    // and the training state file follow it.
    const std::vector<std::pair<std::string, torch::Tensor>>& namedParameters() const
    {
        return m_params;
    }
    std::vector<torch::Tensor> parameters() const;
    // Whether the optimizer decays parameter `name`: the matrices (linears, embeddings, conv
    // taps) but those the layout exempts (BlockTensorSpec::noWeightDecay); shrinking norm
    // gains and biases towards zero is not regularisation (GPT-2 / nanoGPT practice).
    bool weightDecay(const std::string& name) const;
    int64_t parameterCount() const;

    // Detached views of the parameters by name, ready for writeLlamaCheckpoint.
    std::map<std::string, torch::Tensor> stateDict() const;
    // Copies every parameter from `tensors` (any float dtype); throws ptq::Error naming
    // `file` and the tensor when one is missing or has the wrong shape.
    void loadStateDict(const std::map<std::string, torch::Tensor>& tensors,
                       const std::string& file);

private:
    void initialise(uint64_t seed);
    torch::Tensor add(const std::string& name, torch::Tensor value);

    ModelConfig m_config;
    std::vector<std::pair<std::string, torch::Tensor>> m_params;
    torch::Tensor m_embed, m_finalNorm, m_lmHead; // m_lmHead is m_embed when tied
    std::shared_ptr<const Architecture> m_arch;
    std::vector<BlockWeights> m_blocks; // tensors shared with m_params
    std::vector<std::string> m_noDecay; // matrices exempt from weight decay
};

} // namespace ptq
