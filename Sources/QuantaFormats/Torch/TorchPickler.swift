import QuantaCore

/// Writes the data.pkl of a state dict byte for byte as torch.save does: CPython's pickler at
/// protocol 2 over an `OrderedDict` of tensors, each reduced to `_rebuild_tensor_v2` (or `_v3`
/// for dtypes without a legacy storage class, i.e. the f8 types) with a persistent storage id.
///
/// What CPython does, reproduced here (Lib/pickle.py, Modules/_pickle.c):
/// - every global, string and non-empty tuple is memoized when first written (BINPUT, or
///   LONG_BINPUT from index 256) and fetched again by identity (BINGET / LONG_BINGET); torch
///   reuses the same objects for `'storage'`, `'cpu'`, the rebuild function, the storage classes,
///   `OrderedDict` and dtypes, so those are fetched after their first use;
/// - ints use BININT1 (0…255), BININT2 (…65535), BININT (32-bit signed), else LONG1;
/// - tuples of 1–3 items use TUPLE1/2/3, longer ones MARK … TUPLE, the empty tuple EMPTY_TUPLE;
/// - dict items go in batches of 1,000: MARK … SETITEMS, or a lone SETITEM for a batch of one.
struct TorchPickler {
    struct Tensor {
        let name: String
        let dtype: DType
        let shape: [Int]
        /// Elements (the writer computed it with overflow checks).
        let elementCount: Int
        let storageKey: String
    }

    private(set) var bytes: [UInt8] = []
    private var memo: [MemoKey: Int] = [:]
    private var nextMemo = 0

    private enum MemoKey: Hashable {
        case global(String, String)
        case string(String)
    }

    /// data.pkl for `OrderedDict((t.name, t) for t in tensors)`, each tensor contiguous with
    /// a storage of its own.
    static func stateDict(_ tensors: [Tensor]) -> [UInt8] {
        var pickler = TorchPickler()
        pickler.bytes.reserveCapacity(64 + tensors.count * 96)
        pickler.bytes += [PickleOpcode.proto, 2]
        pickler.global("collections", "OrderedDict")
        pickler.bytes.append(PickleOpcode.emptyTuple)
        pickler.bytes.append(PickleOpcode.reduce)
        pickler.memoize()
        let batchSize = 1000  // pickle's _BATCHSIZE
        var start = 0
        while start < tensors.count {
            let batch = tensors[start ..< min(start + batchSize, tensors.count)]
            if batch.count > 1 { pickler.bytes.append(PickleOpcode.mark) }
            for tensor in batch {
                pickler.freshString(tensor.name)
                pickler.tensor(tensor)
            }
            pickler.bytes.append(batch.count > 1 ? PickleOpcode.setitems : PickleOpcode.setitem)
            start += batchSize
        }
        pickler.bytes.append(PickleOpcode.stop)
        return pickler.bytes
    }

    private mutating func tensor(_ tensor: Tensor) {
        let storageClass = TorchGlobal.storageClassName(for: tensor.dtype)
        let elementCount = tensor.elementCount
        global("torch._utils", storageClass == nil ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2")
        bytes.append(PickleOpcode.mark)
        // Persistent id ('storage', StorageType, key, location, numel).
        bytes.append(PickleOpcode.mark)
        sharedString("storage")
        if let storageClass {
            global("torch", storageClass)
        } else {
            global("torch.storage", "UntypedStorage")
        }
        freshString(tensor.storageKey)
        sharedString("cpu")
        integer(storageClass == nil ? elementCount * tensor.dtype.byteSize : elementCount)
        bytes.append(PickleOpcode.tuple)
        memoize()
        bytes.append(PickleOpcode.binpersid)
        integer(0)  // storage_offset
        tuple(tensor.shape)
        tuple(TorchTensor.contiguousStrides(tensor.shape))
        bytes.append(PickleOpcode.newfalse)  // requires_grad
        // backward_hooks: an empty OrderedDict, reduced afresh for every tensor.
        global("collections", "OrderedDict")
        bytes.append(PickleOpcode.emptyTuple)
        bytes.append(PickleOpcode.reduce)
        memoize()
        if storageClass == nil { global("torch", TorchGlobal.dtypeName(for: tensor.dtype)) }
        bytes.append(PickleOpcode.tuple)
        memoize()
        bytes.append(PickleOpcode.reduce)
        memoize()
    }

    private mutating func memoize() {
        let index = nextMemo
        nextMemo += 1
        if index < 256 {
            bytes += [PickleOpcode.binput, UInt8(index)]
        } else {
            bytes.append(PickleOpcode.longBinput)
            appendUInt32(UInt32(index))
        }
    }

    private mutating func get(_ index: Int) {
        if index < 256 {
            bytes += [PickleOpcode.binget, UInt8(index)]
        } else {
            bytes.append(PickleOpcode.longBinget)
            appendUInt32(UInt32(index))
        }
    }

    private mutating func global(_ module: String, _ name: String) {
        let key = MemoKey.global(module, name)
        if let index = memo[key] { get(index); return }
        bytes.append(PickleOpcode.global)
        bytes += Array(module.utf8) + [0x0A] + Array(name.utf8) + [0x0A]
        memo[key] = nextMemo
        memoize()
    }

    /// A string object seen before is fetched from the memo.
    private mutating func sharedString(_ text: String) {
        if let index = memo[.string(text)] { get(index); return }
        memo[.string(text)] = nextMemo
        freshString(text)
    }

    /// A new string object (tensor names and storage keys are distinct objects in torch).
    private mutating func freshString(_ text: String) {
        let utf8 = Array(text.utf8)
        bytes.append(PickleOpcode.binunicode)
        appendUInt32(UInt32(utf8.count))
        bytes += utf8
        memoize()
    }

    private mutating func tuple(_ values: [Int]) {
        switch values.count {
        case 0:
            bytes.append(PickleOpcode.emptyTuple)
            return
        case 1 ... 3:
            for value in values { integer(value) }
            bytes.append(PickleOpcode.tuple1 + UInt8(values.count - 1))
        default:
            bytes.append(PickleOpcode.mark)
            for value in values { integer(value) }
            bytes.append(PickleOpcode.tuple)
        }
        memoize()
    }

    private mutating func integer(_ value: Int) {
        if value >= 0 && value <= 0xFF {
            bytes += [PickleOpcode.binint1, UInt8(value)]
        } else if value >= 0 && value <= 0xFFFF {
            bytes += [PickleOpcode.binint2, UInt8(value & 0xFF), UInt8(value >> 8)]
        } else if value >= Int(Int32.min) && value <= Int(Int32.max) {
            bytes.append(PickleOpcode.binint)
            appendUInt32(UInt32(bitPattern: Int32(value)))
        } else {
            // LONG1: minimal little-endian two's complement (pickle.encode_long).
            var encoded: [UInt8] = []
            var rest = value
            var last: UInt8
            repeat {
                last = UInt8(truncatingIfNeeded: rest)
                encoded.append(last)
                rest >>= 8
            } while !(rest == 0 && last & 0x80 == 0) && !(rest == -1 && last & 0x80 != 0)
            bytes += [PickleOpcode.long1, UInt8(encoded.count)] + encoded
        }
    }

    private mutating func appendUInt32(_ value: UInt32) {
        bytes += [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
    }
}
