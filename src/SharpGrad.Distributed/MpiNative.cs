using System.Runtime.InteropServices;

namespace SharpGrad.Distributed;

/// <summary>
/// The few MPI functions SharpGrad calls, bound to Open MPI's libmpi with source-generated P/Invoke (no runtime
/// marshalling stubs, so AOT-safe). Open MPI's predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are not
/// constants but the addresses of exported global objects (<c>ompi_mpi_comm_world</c>, ...), which
/// <see cref="NativeLibrary.GetExport"/> finds. MPICH and MS-MPI use integer handles instead, so this binding is Open
/// MPI's only.
/// </summary>
internal static unsafe partial class MpiNative
{
    private const string Lib = "sharpgrad-libmpi"; // resolved by Resolve below, never by this name

    /// <summary>Open MPI's soname first (ABI 40 is Open MPI 3.x-5.x), then the development symlink.</summary>
    private static readonly string[] Candidates = ["libmpi.so.40", "libmpi.so"];

    public const int MPI_SUCCESS = 0;
    public const int MPI_THREAD_SERIALIZED = 2;
    /// <summary>MPI_COMM_TYPE_SHARED: the first value of Open MPI's split-type enumeration (the processes that can share memory).</summary>
    public const int MPI_COMM_TYPE_SHARED = 0;
    private const int RTLD_NOW = 2, RTLD_GLOBAL = 0x100;

    private static nint s_handle;

    public static nint CommWorld, Float, Double, Byte, Sum, ErrorsReturn, InfoNull;

    /// <summary>MPI_IN_PLACE is the address 1 in Open MPI.</summary>
    public static readonly void* InPlace = (void*)1;

    /// <summary>
    /// Loads libmpi once, with RTLD_GLOBAL: Open MPI loads its transport components with dlopen and they look up
    /// libmpi's symbols globally, which a plain (local) load would hide from them.
    /// </summary>
    public static void Load()
    {
        if (s_handle != 0) return;
        nint h = 0;
        foreach (var name in Candidates)
        {
            h = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
            if (h != 0) break;
        }
        if (h == 0)
            throw new DllNotFoundException(
                "MPI: Open MPI's library libmpi.so.40 was not found. Install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) " +
                "and start the program with mpirun.");
        NativeLibrary.SetDllImportResolver(typeof(MpiNative).Assembly, (name, _, _) => name == Lib ? h : 0);
        s_handle = h;
        CommWorld = Export("ompi_mpi_comm_world");
        Float = Export("ompi_mpi_float");
        Double = Export("ompi_mpi_double");
        Byte = Export("ompi_mpi_byte");
        Sum = Export("ompi_mpi_op_sum");
        ErrorsReturn = Export("ompi_mpi_errors_return");
        InfoNull = Export("ompi_mpi_info_null");
    }

    private static nint Export(string symbol) =>
        NativeLibrary.TryGetExport(s_handle, symbol, out var address) ? address
            : throw new EntryPointNotFoundException($"MPI: the loaded libmpi has no symbol '{symbol}'; SharpGrad.Distributed needs Open MPI (openmpi-bin), not MPICH or MS-MPI.");

    [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint dlopen(string file, int mode);

    [LibraryImport(Lib)] public static partial int MPI_Initialized(int* flag);
    [LibraryImport(Lib)] public static partial int MPI_Finalized(int* flag);
    [LibraryImport(Lib)] public static partial int MPI_Init_thread(int* argc, nint* argv, int required, int* provided);
    [LibraryImport(Lib)] public static partial int MPI_Finalize();
    [LibraryImport(Lib)] public static partial int MPI_Abort(nint comm, int errorCode);
    [LibraryImport(Lib)] public static partial int MPI_Comm_rank(nint comm, int* rank);
    [LibraryImport(Lib)] public static partial int MPI_Comm_size(nint comm, int* size);
    [LibraryImport(Lib)] public static partial int MPI_Comm_set_errhandler(nint comm, nint handler);
    [LibraryImport(Lib)] public static partial int MPI_Error_string(int code, byte* text, int* length);
    [LibraryImport(Lib)] public static partial int MPI_Iallreduce(void* send, void* receive, int count, nint datatype, nint op, nint comm, nint* request);
    [LibraryImport(Lib)] public static partial int MPI_Ibcast(void* buffer, int count, nint datatype, int root, nint comm, nint* request);
    [LibraryImport(Lib)] public static partial int MPI_Iallgather(void* send, int sendCount, nint sendType, void* receive, int receiveCount, nint receiveType, nint comm, nint* request);
    [LibraryImport(Lib)] public static partial int MPI_Ibarrier(nint comm, nint* request);
    [LibraryImport(Lib)] public static partial int MPI_Test(nint* request, int* flag, void* status);
    [LibraryImport(Lib)] public static partial int MPI_Isend(void* buffer, int count, nint datatype, int destination, int tag, nint comm, nint* request);
    [LibraryImport(Lib)] public static partial int MPI_Irecv(void* buffer, int count, nint datatype, int source, int tag, nint comm, nint* request);
    [LibraryImport(Lib)] public static partial int MPI_Comm_dup(nint comm, nint* newComm);
    [LibraryImport(Lib)] public static partial int MPI_Comm_split_type(nint comm, int splitType, int key, nint info, nint* newComm);
    [LibraryImport(Lib)] public static partial int MPI_Win_allocate_shared(nint size, int displacementUnit, nint info, nint comm, void** baseAddress, nint* window);
    [LibraryImport(Lib)] public static partial int MPI_Win_shared_query(nint window, int rank, nint* size, int* displacementUnit, void** baseAddress);
    [LibraryImport(Lib)] public static partial int MPI_Win_free(nint* window);

    /// <summary>Open MPI's text for an error code.</summary>
    public static string ErrorString(int code)
    {
        byte* buffer = stackalloc byte[512]; // MPI_MAX_ERROR_STRING is 256 in Open MPI
        int length = 0;
        return MPI_Error_string(code, buffer, &length) == MPI_SUCCESS ? new string((sbyte*)buffer, 0, length) : $"MPI error {code}";
    }
}
