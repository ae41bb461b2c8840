import QuantaCore
