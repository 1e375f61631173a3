"""CRC-64 as RDB and DUMP use it (Jones polynomial, reflected), for tests that build payloads."""
POLYNOMIAL = 0x95AC9329AC4BC9B5
TABLE = []
for index in range(256):
    crc = index
    for _ in range(8):
        crc = (crc >> 1) ^ POLYNOMIAL if crc & 1 else crc >> 1
    TABLE.append(crc)


def checksum(data):
    crc = 0
    for byte in data:
        crc = TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc
