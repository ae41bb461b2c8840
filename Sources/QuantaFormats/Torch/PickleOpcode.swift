/// Pickle opcodes (CPython Lib/pickle.py, protocols 0–5). Only some are executed by
/// `TorchUnpickler`; the rest are named here so a refusal says which one it met.
enum PickleOpcode {
    static let mark: UInt8 = 0x28            // (
    static let stop: UInt8 = 0x2E            // .
    static let binint: UInt8 = 0x4A          // J
    static let binint1: UInt8 = 0x4B         // K
    static let binint2: UInt8 = 0x4D         // M
    static let none: UInt8 = 0x4E            // N
    static let binpersid: UInt8 = 0x51       // Q
    static let reduce: UInt8 = 0x52          // R
    static let shortBinstring: UInt8 = 0x55  // U
    static let binunicode: UInt8 = 0x58      // X
    static let append: UInt8 = 0x61          // a
    static let build: UInt8 = 0x62           // b
    static let global: UInt8 = 0x63          // c
    static let dict: UInt8 = 0x64            // d
    static let emptyDict: UInt8 = 0x7D       // }
    static let appends: UInt8 = 0x65         // e
    static let binget: UInt8 = 0x68          // h
    static let longBinget: UInt8 = 0x6A      // j
    static let list: UInt8 = 0x6C            // l
    static let emptyList: UInt8 = 0x5D       // ]
    static let binput: UInt8 = 0x71          // q
    static let longBinput: UInt8 = 0x72      // r
    static let setitem: UInt8 = 0x73         // s
    static let tuple: UInt8 = 0x74           // t
    static let emptyTuple: UInt8 = 0x29      // )
    static let setitems: UInt8 = 0x75        // u
    static let binfloat: UInt8 = 0x47        // G
    static let proto: UInt8 = 0x80
    static let newobj: UInt8 = 0x81
    static let tuple1: UInt8 = 0x85
    static let tuple2: UInt8 = 0x86
    static let tuple3: UInt8 = 0x87
    static let newtrue: UInt8 = 0x88
    static let newfalse: UInt8 = 0x89
    static let long1: UInt8 = 0x8A
    static let shortBinunicode: UInt8 = 0x8C
    static let binunicode8: UInt8 = 0x8D
    static let stackGlobal: UInt8 = 0x93
    static let memoize: UInt8 = 0x94
    static let frame: UInt8 = 0x95

    /// Every opcode's pickletools name, for messages.
    static func name(_ code: UInt8) -> String {
        switch code {
        case 0x28: return "MARK"
        case 0x2E: return "STOP"
        case 0x30: return "POP"
        case 0x31: return "POP_MARK"
        case 0x32: return "DUP"
        case 0x46: return "FLOAT"
        case 0x49: return "INT"
        case 0x4A: return "BININT"
        case 0x4B: return "BININT1"
        case 0x4C: return "LONG"
        case 0x4D: return "BININT2"
        case 0x4E: return "NONE"
        case 0x50: return "PERSID"
        case 0x51: return "BINPERSID"
        case 0x52: return "REDUCE"
        case 0x53: return "STRING"
        case 0x54: return "BINSTRING"
        case 0x55: return "SHORT_BINSTRING"
        case 0x56: return "UNICODE"
        case 0x58: return "BINUNICODE"
        case 0x61: return "APPEND"
        case 0x62: return "BUILD"
        case 0x63: return "GLOBAL"
        case 0x64: return "DICT"
        case 0x7D: return "EMPTY_DICT"
        case 0x65: return "APPENDS"
        case 0x67: return "GET"
        case 0x68: return "BINGET"
        case 0x69: return "INST"
        case 0x6A: return "LONG_BINGET"
        case 0x6C: return "LIST"
        case 0x5D: return "EMPTY_LIST"
        case 0x6F: return "OBJ"
        case 0x70: return "PUT"
        case 0x71: return "BINPUT"
        case 0x72: return "LONG_BINPUT"
        case 0x73: return "SETITEM"
        case 0x74: return "TUPLE"
        case 0x29: return "EMPTY_TUPLE"
        case 0x75: return "SETITEMS"
        case 0x47: return "BINFLOAT"
        case 0x80: return "PROTO"
        case 0x81: return "NEWOBJ"
        case 0x82: return "EXT1"
        case 0x83: return "EXT2"
        case 0x84: return "EXT4"
        case 0x85: return "TUPLE1"
        case 0x86: return "TUPLE2"
        case 0x87: return "TUPLE3"
        case 0x88: return "NEWTRUE"
        case 0x89: return "NEWFALSE"
        case 0x8A: return "LONG1"
        case 0x8B: return "LONG4"
        case 0x42: return "BINBYTES"
        case 0x43: return "SHORT_BINBYTES"
        case 0x8C: return "SHORT_BINUNICODE"
        case 0x8D: return "BINUNICODE8"
        case 0x8E: return "BINBYTES8"
        case 0x8F: return "EMPTY_SET"
        case 0x90: return "ADDITEMS"
        case 0x91: return "FROZENSET"
        case 0x92: return "NEWOBJ_EX"
        case 0x93: return "STACK_GLOBAL"
        case 0x94: return "MEMOIZE"
        case 0x95: return "FRAME"
        case 0x96: return "BYTEARRAY8"
        case 0x97: return "NEXT_BUFFER"
        case 0x98: return "READONLY_BUFFER"
        default: return "unknown opcode"
        }
    }
}
