namespace SharpGrad.NN;

/// <summary>
/// Stateless forms of the layers and the losses (PyTorch: <c>torch.nn.functional</c>); the modules call these. Each
/// function is declared in its op's file under Ops/.
/// </summary>
public static partial class Functional
{
}
