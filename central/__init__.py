"""The city's reference central server for 社会保障卡 counters (社保卡中心服务)."""
