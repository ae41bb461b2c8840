import QuantaCore

/// A restricted pickle machine for torch.save's `data.pkl` (protocols 2–5).
///
/// It executes only the opcodes a state dict needs (what torch.save emits, plus the protocol 4
/// forms of the same operations: FRAME, MEMOIZE, SHORT_BINUNICODE, BINUNICODE8, STACK_GLOBAL),
/// pushes only the globals of `TorchGlobal`'s allow-list, and "calls" them by building plain
/// Swift values. Any other opcode or global ends the run with an error naming it and its byte
/// offset. Memo, stack, MARK depth, nesting depth, string length and value count are capped
/// (`TorchLimits`). Containers are sealed once nested, so the object graph is acyclic and its
/// depth is known as it is built.
public struct TorchUnpickler {
    /// Unpickles `bytes` (the data.pkl record). `file` names the checkpoint in errors.
    public static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> TorchPickle {
        guard bytes.count <= TorchLimits.maxPickleBytes else {
            throw TorchError.pickleLimit(file: file, limit: "data.pkl size", value: bytes.count,
                                         cap: TorchLimits.maxPickleBytes, offset: 0)
        }
        var machine = TorchUnpickler(bytes: bytes, file: file)
        return try machine.run()
    }

    private let bytes: UnsafeRawBufferPointer
    private let file: String
    private var position = 0
    private var opcodeOffset = 0
    private var opcode: UInt8 = 0

    private var stack: [PickleValue] = []
    /// Stack heights at each open MARK; nothing below the last one may be popped.
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var valueCount = 0

    private var tuples: [[PickleValue]] = []
    private var tupleDepths: [Int] = []
    private var lists: [[PickleValue]] = []
    private var listDepths: [Int] = []
    private var listSealed: [Bool] = []
    private var dicts: [PickleDict] = []
    private var dictDepths: [Int] = []
    private var dictSealed: [Bool] = []
    private var storages: [TorchStorageReference] = []
    private var storageByKey: [String: Int] = [:]
    private var tensors: [TorchTensorRecord] = []

    private init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    // MARK: The loop

    private mutating func run() throws -> TorchPickle {
        while position < bytes.count {
            opcodeOffset = position
            opcode = bytes[position]
            position += 1
            switch opcode {
            case PickleOpcode.proto:
                let version = try readByte()
                guard version <= 5 else { throw invalid("pickle protocol \(version) is newer than any Python writes (5)") }
            case PickleOpcode.frame:
                let length = try readUInt(8)
                guard length <= UInt64(bytes.count - position) else {
                    throw invalid("FRAME of \(length) bytes runs past the end of data.pkl (\(bytes.count - position) left)")
                }
            case PickleOpcode.stop:
                let root = try pop()
                return TorchPickle(root: root, tuples: tuples, lists: lists, dicts: dicts, storages: storages, tensors: tensors)

            case PickleOpcode.mark:
                guard marks.count < TorchLimits.maxMarkDepth else {
                    throw limit("the number of open MARKs", marks.count + 1, TorchLimits.maxMarkDepth)
                }
                marks.append(stack.count)
            case PickleOpcode.emptyTuple:
                try push(makeTuple([]))
            case PickleOpcode.tuple:
                let items = try popMark()
                try push(makeTuple(items))
            case PickleOpcode.tuple1, PickleOpcode.tuple2, PickleOpcode.tuple3:
                let count = Int(opcode - PickleOpcode.tuple1) + 1
                var items: [PickleValue] = []
                for _ in 0 ..< count { items.append(try pop()) }
                try push(makeTuple(items.reversed()))
            case PickleOpcode.emptyList:
                try push(makeList([]))
            case PickleOpcode.list:
                let items = try popMark()
                try push(makeList(items))
            case PickleOpcode.append:
                let item = try pop()
                try appendItems([item], toListAt: stack.count - 1)
            case PickleOpcode.appends:
                let items = try popMark()
                try appendItems(items, toListAt: stack.count - 1)
            case PickleOpcode.emptyDict:
                try push(makeDict(ordered: false))
            case PickleOpcode.dict:
                let items = try popMark()
                let dict = try makeDict(ordered: false)
                try push(dict)
                try setItems(items, inDictAt: stack.count - 1)
            case PickleOpcode.setitem:
                let value = try pop()
                let key = try pop()
                try setItems([key, value], inDictAt: stack.count - 1)
            case PickleOpcode.setitems:
                let items = try popMark()
                try setItems(items, inDictAt: stack.count - 1)

            case PickleOpcode.none: try push(.none)
            case PickleOpcode.newtrue: try push(.bool(true))
            case PickleOpcode.newfalse: try push(.bool(false))
            case PickleOpcode.binint1: try push(.int(Int(try readByte())))
            case PickleOpcode.binint2: try push(.int(Int(try readUInt(2))))
            case PickleOpcode.binint: try push(.int(Int(Int32(truncatingIfNeeded: try readUInt(4)))))
            case PickleOpcode.long1:
                let length = Int(try readByte())
                try push(try readLong(length))
            case PickleOpcode.binfloat:
                // Big-endian IEEE double (pickle.py `save_float`).
                let raw = try readBytes(8)
                var bits: UInt64 = 0
                for byte in raw { bits = bits << 8 | UInt64(byte) }
                try push(.float(Double(bitPattern: bits)))
            case PickleOpcode.binunicode:
                try push(.string(try readString(length: try readUInt(4))))
            case PickleOpcode.shortBinunicode:
                try push(.string(try readString(length: UInt64(try readByte()))))
            case PickleOpcode.binunicode8:
                try push(.string(try readString(length: try readUInt(8))))
            case PickleOpcode.shortBinstring:
                // Python 2 `str`; torch.load decodes it as UTF-8.
                try push(.string(try readString(length: UInt64(try readByte()))))

            case PickleOpcode.binput:
                try memoPut(Int(try readByte()))
            case PickleOpcode.longBinput:
                try memoPut(Int(try readUInt(4)))
            case PickleOpcode.memoize:
                try memoPut(memo.count)
            case PickleOpcode.binget:
                try memoGet(Int(try readByte()))
            case PickleOpcode.longBinget:
                try memoGet(Int(try readUInt(4)))

            case PickleOpcode.global:
                let module = try readLine()
                let name = try readLine()
                try push(.global(try allowedGlobal(module: module, name: name)))
            case PickleOpcode.stackGlobal:
                let name = try pop()
                let module = try pop()
                guard case let .string(moduleName) = module, case let .string(globalName) = name else {
                    throw invalid("STACK_GLOBAL needs two strings, got \(module.kind) and \(name.kind)")
                }
                try push(.global(try allowedGlobal(module: moduleName, name: globalName)))
            case PickleOpcode.reduce:
                let arguments = try pop()
                let callable = try pop()
                try push(try call(callable, arguments))
            case PickleOpcode.newobj:
                let arguments = try pop()
                let type = try pop()
                try push(try newObject(type, arguments))
            case PickleOpcode.build:
                let state = try pop()
                try build(at: stack.count - 1, state: state)
            case PickleOpcode.binpersid:
                let id = try pop()
                try push(try persistentLoad(id))

            default:
                throw TorchError.unsupportedOpcode(file: file, opcode: opcode, name: PickleOpcode.name(opcode), offset: opcodeOffset)
            }
        }
        throw TorchError.invalidPickle(file: file, offset: bytes.count, reason: "data.pkl ends without a STOP opcode; the file is truncated")
    }

    // MARK: Errors

    private func invalid(_ reason: String) -> TorchError {
        TorchError.invalidPickle(file: file, offset: opcodeOffset, reason: "\(PickleOpcode.name(opcode)): \(reason)")
    }

    private func limit(_ what: String, _ value: Int, _ cap: Int) -> TorchError {
        TorchError.pickleLimit(file: file, limit: what, value: value, cap: cap, offset: opcodeOffset)
    }

    // MARK: Reading operands

    private mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count <= bytes.count - position else {
            throw invalid("needs \(count) operand byte(s) but data.pkl ends after \(bytes.count - position); the file is truncated")
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position ..< position + count])
    }

    private mutating func readByte() throws -> UInt8 { try readBytes(1)[0] }

    /// A little-endian unsigned integer of `width` bytes.
    private mutating func readUInt(_ width: Int) throws -> UInt64 {
        let raw = try readBytes(width)
        var value: UInt64 = 0
        for index in stride(from: width - 1, through: 0, by: -1) { value = value << 8 | UInt64(raw[index]) }
        return value
    }

    /// LONG1 payload: little-endian two's complement, `length` bytes (0 means 0).
    private mutating func readLong(_ length: Int) throws -> PickleValue {
        let raw = try readBytes(length)
        guard length > 0 else { return .int(0) }
        let negative = raw[length - 1] & 0x80 != 0
        // Bytes beyond the eighth must be pure sign extension for the value to fit in 64 bits.
        if length > 8 {
            let fill: UInt8 = negative ? 0xFF : 0x00
            guard raw[8...].allSatisfy({ $0 == fill }), (raw[7] & 0x80 != 0) == negative else { return .largeInt }
        }
        var value: UInt64 = negative ? ~0 : 0
        for index in stride(from: min(length, 8) - 1, through: 0, by: -1) {
            value = value << 8 | UInt64(raw[index])
        }
        return .int(Int(Int64(bitPattern: value)))
    }

    private mutating func readString(length: UInt64) throws -> String {
        guard length <= UInt64(TorchLimits.maxStringBytes) else {
            throw limit("a string's length", Int(clamping: length), TorchLimits.maxStringBytes)
        }
        let raw = try readBytes(Int(length))
        guard let text = String(validating: raw, as: UTF8.self) else { throw invalid("string is not valid UTF-8") }
        return text
    }

    /// A GLOBAL operand line, up to its newline.
    private mutating func readLine() throws -> String {
        let start = position
        let end = min(bytes.count, start + TorchLimits.maxGlobalLineBytes + 1)
        var cursor = start
        while cursor < end && bytes[cursor] != 0x0A { cursor += 1 }
        guard cursor < end else {
            if end == bytes.count && end - start <= TorchLimits.maxGlobalLineBytes {
                throw invalid("operand line has no newline before the end of data.pkl; the file is truncated")
            }
            throw limit("a GLOBAL name's length", end - start, TorchLimits.maxGlobalLineBytes)
        }
        position = cursor + 1
        guard let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start ..< cursor]), as: UTF8.self) else {
            throw invalid("operand is not valid UTF-8")
        }
        return text
    }

    // MARK: Stack, marks and memo

    private mutating func push(_ value: PickleValue) throws {
        guard stack.count < TorchLimits.maxStackDepth else { throw limit("the stack depth", stack.count + 1, TorchLimits.maxStackDepth) }
        valueCount += 1
        guard valueCount <= TorchLimits.maxValues else { throw limit("the number of values", valueCount, TorchLimits.maxValues) }
        stack.append(value)
    }

    private var fence: Int { marks.last ?? 0 }

    private mutating func pop() throws -> PickleValue {
        guard stack.count > fence else {
            throw invalid(marks.isEmpty ? "needs a value but the stack is empty" : "needs a value but only a MARK is left above it")
        }
        return stack.removeLast()
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw invalid("needs a MARK but none is open") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func memoPut(_ index: Int) throws {
        guard index <= TorchLimits.maxMemoIndex else { throw limit("a memo index", index, TorchLimits.maxMemoIndex) }
        guard stack.count > fence else { throw invalid("memoizes a value but the stack is empty") }
        memo[index] = stack[stack.count - 1]
        guard memo.count <= TorchLimits.maxMemoEntries else { throw limit("the memo size", memo.count, TorchLimits.maxMemoEntries) }
    }

    private mutating func memoGet(_ index: Int) throws {
        guard let value = memo[index] else { throw invalid("memo slot \(index) was never set") }
        try push(value)
    }

    private func allowedGlobal(module: String, name: String) throws -> TorchGlobal {
        guard let global = TorchGlobal.lookup(module: module, name: name) else {
            throw TorchError.forbiddenGlobal(file: file, global: module + "." + name, offset: opcodeOffset)
        }
        return global
    }

    // MARK: Containers

    private func depth(_ value: PickleValue) -> Int {
        switch value {
        case let .tuple(index): return tupleDepths[index]
        case let .list(index): return listDepths[index]
        case let .dict(index): return dictDepths[index]
        case .storage, .tensor: return 1
        default: return 0
        }
    }

    /// A list or dict placed inside another object may no longer change: no cycles can form.
    private mutating func seal(_ value: PickleValue) {
        switch value {
        case let .list(index): listSealed[index] = true
        case let .dict(index): dictSealed[index] = true
        default: break
        }
    }

    private func checkedDepth(_ depth: Int) throws -> Int {
        guard depth <= TorchLimits.maxNestingDepth else { throw limit("the nesting depth", depth, TorchLimits.maxNestingDepth) }
        return depth
    }

    private mutating func makeTuple(_ items: [PickleValue]) throws -> PickleValue {
        let itemDepth = items.reduce(0) { max($0, depth($1)) }
        let tupleDepth = try checkedDepth(itemDepth + 1)
        for item in items { seal(item) }
        tuples.append(items)
        tupleDepths.append(tupleDepth)
        return .tuple(tuples.count - 1)
    }

    private mutating func makeList(_ items: [PickleValue]) throws -> PickleValue {
        let itemDepth = items.reduce(0) { max($0, depth($1)) }
        let listDepth = try checkedDepth(itemDepth + 1)
        for item in items { seal(item) }
        lists.append(items)
        listDepths.append(listDepth)
        listSealed.append(false)
        return .list(lists.count - 1)
    }

    private mutating func makeDict(ordered: Bool) throws -> PickleValue {
        dicts.append(PickleDict(isOrdered: ordered))
        dictDepths.append(1)
        dictSealed.append(false)
        return .dict(dicts.count - 1)
    }

    private mutating func appendItems(_ items: [PickleValue], toListAt stackIndex: Int) throws {
        guard stackIndex >= fence, stackIndex >= 0 else { throw invalid("has no list below its items") }
        guard case let .list(index) = stack[stackIndex] else { throw invalid("can only append to a list, not \(stack[stackIndex].kind)") }
        guard !listSealed[index] else { throw invalid("list changed after it was nested (recursive structures are not supported)") }
        var newDepth = listDepths[index]
        for item in items {
            if case .list(index) = item { throw invalid("list appended to itself (recursive structures are not supported)") }
            newDepth = max(newDepth, depth(item) + 1)
        }
        listDepths[index] = try checkedDepth(newDepth)
        for item in items { seal(item) }
        lists[index].append(contentsOf: items)
    }

    private mutating func setItems(_ items: [PickleValue], inDictAt stackIndex: Int) throws {
        guard items.count % 2 == 0 else { throw invalid("needs key/value pairs but got \(items.count) values") }
        guard stackIndex >= fence, stackIndex >= 0 else { throw invalid("has no dict below its items") }
        guard case let .dict(index) = stack[stackIndex] else { throw invalid("can only set items of a dict, not \(stack[stackIndex].kind)") }
        guard !dictSealed[index] else { throw invalid("dict changed after it was nested (recursive structures are not supported)") }
        var newDepth = dictDepths[index]
        for item in items {
            if case .dict(index) = item { throw invalid("dict stored in itself (recursive structures are not supported)") }
            newDepth = max(newDepth, depth(item) + 1)
        }
        dictDepths[index] = try checkedDepth(newDepth)
        var pair = 0
        while pair < items.count {
            let key = items[pair], value = items[pair + 1]
            let hashKey = try self.hashKey(key)
            seal(key)
            seal(value)
            dicts[index].set(key, hashKey: hashKey, value)
            pair += 2
        }
    }

    /// Python's key equality for the hashable values a pickle can hold.
    private func hashKey(_ value: PickleValue) throws -> PickleKey {
        switch value {
        case .none: return .none
        case let .bool(flag): return .int(flag ? 1 : 0)
        case let .int(number): return .int(number)
        case let .float(number):
            if number == number.rounded(), let exact = Int(exactly: number) { return .int(exact) }
            return .float(number.bitPattern)
        case let .string(text): return .string(text)
        case let .global(global): return .global(global)
        case let .tuple(index): return .tuple(try tuples[index].map { try hashKey($0) })
        default: throw invalid("\(value.kind) cannot be a dict key")
        }
    }

    // MARK: Calls

    private func items(_ value: PickleValue, _ what: String) throws -> [PickleValue] {
        guard case let .tuple(index) = value else { throw invalid("\(what) must be a tuple, not \(value.kind)") }
        return tuples[index]
    }

    private func integer(_ value: PickleValue, _ what: String) throws -> Int {
        guard case let .int(number) = value else { throw invalid("\(what) must be an int, not \(value.kind)") }
        return number
    }

    private func integers(_ value: PickleValue, _ what: String) throws -> [Int] {
        let values = try items(value, what)
        guard values.count <= TorchLimits.maxTensorDimensions else {
            throw limit("the dimensions of \(what)", values.count, TorchLimits.maxTensorDimensions)
        }
        return try values.map { try integer($0, "every entry of \(what)") }
    }

    /// REDUCE: the callable must be an allowed global that builds a value.
    private mutating func call(_ callable: PickleValue, _ argumentsValue: PickleValue) throws -> PickleValue {
        guard case let .global(global) = callable else { throw invalid("cannot call \(callable.kind)") }
        let arguments = try items(argumentsValue, "the arguments of \(global.qualifiedName)")
        switch global {
        case .rebuildTensorV2, .rebuildTensorV3:
            return try rebuildTensor(arguments, version3: global == .rebuildTensorV3)
        case .rebuildParameter, .rebuildParameterWithState:
            // (data, requires_grad, backward_hooks[, state]): the parameter is its data tensor.
            let expected = global == .rebuildParameter ? 3 : 4
            guard arguments.count == expected, case let .tensor(index) = arguments[0] else {
                throw invalid("\(global.qualifiedName) takes (tensor, requires_grad, backward_hooks\(expected == 4 ? ", state" : ""))")
            }
            return .tensor(index)
        case .orderedDict:
            guard arguments.isEmpty else { throw invalid("collections.OrderedDict is only rebuilt empty, got \(arguments.count) argument(s)") }
            return try makeDict(ordered: true)
        case .size:
            guard arguments.count == 1 else { throw invalid("torch.Size takes one tuple of ints") }
            return try makeTuple(try integers(arguments[0], "torch.Size").map { .int($0) })
        case .typedStorage, .untypedStorage, .dtype:
            throw invalid("\(global.qualifiedName) cannot be called")
        }
    }

    /// NEWOBJ (`cls.__new__(cls, *args)`): only an empty OrderedDict or a torch.Size.
    private mutating func newObject(_ type: PickleValue, _ argumentsValue: PickleValue) throws -> PickleValue {
        guard case let .global(global) = type, global == .orderedDict || global == .size else {
            throw invalid("cannot create an instance of \(type.kind)")
        }
        return try call(type, argumentsValue)
    }

    /// BUILD: set an OrderedDict's attributes (the state dict's `_metadata`); a tensor takes no state.
    private mutating func build(at stackIndex: Int, state: PickleValue) throws {
        guard stackIndex >= fence, stackIndex >= 0 else { throw invalid("has no object to set state on") }
        let instance = stack[stackIndex]
        switch instance {
        case let .dict(index) where dicts[index].isOrdered:
            guard case let .dict(stateIndex) = state, stateIndex != index else {
                throw invalid("an OrderedDict's state must be a dict of attributes, not \(state.kind)")
            }
            guard !dictSealed[index] else { throw invalid("OrderedDict changed after it was nested") }
            dictDepths[index] = try checkedDepth(max(dictDepths[index], dictDepths[stateIndex] + 1))
            seal(state)
            let attributes = dicts[stateIndex]
            for (key, value) in zip(attributes.keys, attributes.values) {
                guard case let .string(name) = key else { throw invalid("attribute names must be strings, not \(key.kind)") }
                dicts[index].attributes.append((name, value))
            }
        case .tensor:
            switch state {
            case .none: break
            case let .dict(stateIndex) where dicts[stateIndex].count == 0: break
            default: throw invalid("a tensor takes no state here, got \(state.kind)")
            }
        default:
            throw invalid("cannot set state on \(instance.kind)")
        }
    }

    /// BINPERSID `('storage', StorageType, key, location, numel)` names a `data/<key>` record.
    private mutating func persistentLoad(_ id: PickleValue) throws -> PickleValue {
        let fields = try items(id, "a persistent id")
        guard fields.count == 5, case .string("storage") = fields[0] else {
            throw invalid("only ('storage', type, key, location, numel) persistent ids are allowed")
        }
        let dtype: DType?
        let typeName: String
        switch fields[1] {
        case let .global(.typedStorage(name, elementType)):
            guard let elementType else {
                throw TorchError.unsupportedDType(file: file, what: "storage type torch.\(name)", offset: opcodeOffset)
            }
            dtype = elementType
            typeName = "torch." + name
        case .global(.untypedStorage):
            dtype = nil
            typeName = TorchGlobal.untypedStorage.qualifiedName
        default:
            throw invalid("the storage type must be a torch storage class, not \(fields[1].kind)")
        }
        guard case let .string(key) = fields[2], case let .string(location) = fields[3] else {
            throw invalid("the storage key and location must be strings")
        }
        let count = try integer(fields[4], "the storage size")
        guard count >= 0 else { throw invalid("storage '\(key)' has a negative size \(count)") }
        let (_, overflow) = count.multipliedReportingOverflow(by: dtype?.byteSize ?? 1)
        guard !overflow else { throw invalid("storage '\(key)' size \(count) overflows") }
        if let existing = storageByKey[key] {
            let known = storages[existing]
            guard known.dtype == dtype else {
                throw invalid("storage '\(key)' is used as both \(known.typeName) and \(typeName)")
            }
            if count > known.elementCount {
                storages[existing] = TorchStorageReference(key: key, dtype: dtype, typeName: typeName, elementCount: count,
                                                           location: known.location, pickleOffset: known.pickleOffset)
            }
            return .storage(existing)
        }
        storages.append(TorchStorageReference(key: key, dtype: dtype, typeName: typeName, elementCount: count,
                                              location: location, pickleOffset: opcodeOffset))
        storageByKey[key] = storages.count - 1
        return .storage(storages.count - 1)
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`
    /// or `_rebuild_tensor_v3(…, backward_hooks, dtype[, metadata])` (torch/_utils.py).
    private mutating func rebuildTensor(_ arguments: [PickleValue], version3: Bool) throws -> PickleValue {
        let base = version3 ? 7 : 6
        let name = version3 ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2"
        guard arguments.count == base || arguments.count == base + 1 else {
            throw invalid("\(name) takes \(base) or \(base + 1) arguments, got \(arguments.count)")
        }
        guard case let .storage(storageIndex) = arguments[0] else { throw invalid("\(name)'s first argument must be a storage, not \(arguments[0].kind)") }
        let storage = storages[storageIndex]
        let offset = try integer(arguments[1], "the storage offset")
        let shape = try integers(arguments[2], "the size")
        let strides = try integers(arguments[3], "the stride")
        let requiresGrad: Bool
        switch arguments[4] {
        case let .bool(flag): requiresGrad = flag
        case let .int(number) where number == 0 || number == 1: requiresGrad = number == 1
        default: throw invalid("requires_grad must be a bool, not \(arguments[4].kind)")
        }
        guard case .dict = arguments[5] else { throw invalid("backward_hooks must be a dict, not \(arguments[5].kind)") }
        if arguments.count == base + 1 {
            switch arguments[base] {
            case .none, .dict: break
            default: throw invalid("the tensor metadata must be a dict, not \(arguments[base].kind)")
            }
        }
        let dtype: DType
        if version3 {
            guard case let .global(.dtype(dtypeName, elementType)) = arguments[6] else {
                throw invalid("\(name)'s dtype must be a torch dtype, not \(arguments[6].kind)")
            }
            guard let elementType else { throw TorchError.unsupportedDType(file: file, what: "torch.\(dtypeName)", offset: opcodeOffset) }
            dtype = elementType
        } else {
            // An untyped storage holds bytes: torch wraps it as uint8.
            dtype = storage.dtype ?? .u8
        }
        try checkBounds(storage: storage, dtype: dtype, offset: offset, shape: shape, strides: strides)
        tensors.append(TorchTensorRecord(storage: storageIndex, dtype: dtype, shape: shape, strides: strides,
                                         storageOffset: offset, requiresGrad: requiresGrad, pickleOffset: opcodeOffset))
        return .tensor(tensors.count - 1)
    }

    /// Every element the tensor can reach lies inside its storage (overflow-checked).
    private func checkBounds(storage: TorchStorageReference, dtype: DType, offset: Int, shape: [Int], strides: [Int]) throws {
        func outside(_ reason: String) -> TorchError {
            TorchError.tensorOutOfStorage(file: file, offset: opcodeOffset, reason: reason)
        }
        guard shape.count == strides.count else {
            throw outside("tensor has \(shape.count) sizes but \(strides.count) strides")
        }
        guard offset >= 0 else { throw outside("tensor has a negative storage offset \(offset)") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw outside("tensor size \(shape) has a negative dimension") }
        guard strides.allSatisfy({ $0 >= 0 }) else { throw outside("tensor stride \(strides) is negative (torch refuses negative strides)") }
        var elements = 1
        for dim in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw outside("tensor size \(shape) overflows") }
            elements = product
        }
        let (_, byteOverflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !byteOverflow else { throw outside("tensor size \(shape) overflows") }
        guard elements > 0 else { return }
        var last = offset
        for (dim, stride) in zip(shape, strides) {
            let (step, stepOverflow) = (dim - 1).multipliedReportingOverflow(by: stride)
            let (sum, sumOverflow) = last.addingReportingOverflow(step)
            guard !stepOverflow, !sumOverflow else { throw outside("tensor size \(shape) with stride \(strides) overflows") }
            last = sum
        }
        // Capacity in elements of the tensor's dtype (an untyped storage counts bytes).
        let storageBytes = storage.elementCount * (storage.dtype?.byteSize ?? 1)
        let capacity = storageBytes / dtype.byteSize
        guard last < capacity else {
            throw outside("tensor of size \(shape), stride \(strides) at offset \(offset) reaches element \(last) but storage '\(storage.key)' holds \(capacity) \(dtype.rawValue) element(s)")
        }
    }
}
